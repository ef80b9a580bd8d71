"""The OpenAPI 3 description of the web app, served at ``/api/openapi.json``.

Hand-written, so it says what each route promises rather than what a generator guesses; a test
checks that every route of the app appears here with each of its methods.
"""

from __future__ import annotations

from typing import Any

from poxscan import __version__

__all__ = ["openapi_document"]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The photo: JPEG, PNG, WebP, BMP or TIFF, sniffed from "
                        "its content (the file name and content type are ignored).",
                    }
                },
            }
        }
    },
}

_REFUSED = {
    "description": "Not screenable. Either the input gate refused the photo (the body is a "
    "Refusal: a machine-readable `code` among too_small, blank, too_dark, too_bright, "
    "too_blurry, collage, not_skin, the `message` and the `advice` on how to take a better "
    "photo; no probability, no label), or the image is empty, truncated, corrupt or has too "
    "many pixels (an Error).",
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/Refusal"},
                    {"$ref": "#/components/schemas/Error"},
                ]
            }
        }
    },
}

_UPLOAD_ERRORS = {
    "400": _error("No file was sent, or more than one."),
    "413": _error("The request is larger than the upload limit."),
    "415": _error("The file is not an image, or not a supported format (GIF, PDF, ...)."),
    "422": _error("The image is empty, truncated, corrupt or has too many pixels."),
}


def _ondevice_paths() -> dict[str, Any]:
    from poxscan.web.ondevice_site import OPENAPI_PATHS

    return OPENAPI_PATHS


def openapi_document(max_upload_bytes: int | None = None, lime: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the app.

    Parameters
    ----------
    max_upload_bytes : int, optional
        The app's upload limit, quoted in the descriptions.
    lime : bool, default=False
        Whether ``POST /api/explain`` can produce overlays in this installation.
    """
    limit = f"{max_upload_bytes} bytes" if max_upload_bytes else "the configured limit"
    upload_post = {"requestBody": _UPLOAD_BODY}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "poxscan web API",
            "version": __version__,
            "description": "Mpox screening from a skin-lesion photo, and a chatbot that answers "
            "general questions about mpox. A screening aid, not a diagnosis: see a clinician. "
            f"Uploads are limited to {limit}; they are not stored unless the server is "
            "configured to keep them.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/": {"get": {"summary": "Upload page (HTML)", "responses": {"200": _html("Page.")}}},
            **_ondevice_paths(),
            "/predict": {
                "post": {
                    **upload_post,
                    "summary": "Upload form target: the result page (HTML)",
                    "description": "Form field `lime=1` adds a LIME overlay where available.",
                    "responses": {
                        "200": _html("Result page."),
                        **{k: _html(v["description"]) for k, v in _UPLOAD_ERRORS.items()},
                    },
                }
            },
            "/model": {
                "get": {
                    "summary": "Model card (HTML)",
                    "responses": {"200": _html("The model card rendered from model_card.md.")},
                }
            },
            "/model/shap/{name}": {
                "get": {
                    "summary": "A global SHAP plot of the model (PNG)",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "PNG image.",
                            "content": {
                                "image/png": {"schema": {"type": "string", "format": "binary"}}
                            },
                        },
                        "404": _html("No such plot."),
                    },
                }
            },
            "/chat": {
                "get": {
                    "summary": "Chat page (HTML); ?message=... asks that question",
                    "parameters": [
                        {"name": "message", "in": "query", "schema": {"type": "string"}}
                    ],
                    "responses": {"200": _html("Page.")},
                },
                "post": {
                    "summary": "Chat without JavaScript: the page with the reply (HTML)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"message": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"200": _html("Page with the reply."), "422": _html("Too long.")},
                },
            },
            "/static/{filename}": {
                "get": {
                    "summary": "Stylesheet and script of the pages",
                    "parameters": [
                        {
                            "name": "filename",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "The file."}, "404": _html("None.")},
                }
            },
            "/api/predict": {
                "post": {
                    **upload_post,
                    "summary": "Screen one photo",
                    "responses": {
                        "200": {
                            "description": "The model's answer and the features that weighed most.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Prediction"}
                                }
                            },
                        },
                        **_UPLOAD_ERRORS,
                        "422": _REFUSED,
                    },
                }
            },
            "/api/report": {
                "post": {
                    **upload_post,
                    "summary": "Clinician report of one photo (JSON; nothing is stored)",
                    "description": "The prediction, the expected sensitivity and specificity at "
                    "the threshold, the input gate's verdict, the photo as the model saw it and "
                    "the explanation map (base64 PNGs), the model's manifest sha256, the date "
                    "and the disclaimer. A photo the gate refuses gets a report too (with its "
                    "reason and no probability). The page offers the same as printable HTML.",
                    "responses": {
                        "200": {
                            "description": "The report.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Report"}
                                }
                            },
                        },
                        **_UPLOAD_ERRORS,
                    },
                }
            },
            "/api/explain": {
                "post": {
                    **upload_post,
                    "summary": "LIME overlay of one photo (slow; optional)",
                    "description": "Which regions of the photo pushed the classical model "
                    "towards or away from mpox, as a PNG overlay (base64). "
                    + (
                        "Available in this installation."
                        if lime
                        else "Not available in this installation: answers 501."
                    ),
                    "responses": {
                        "200": {
                            "description": "The overlay.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Explanation"}
                                }
                            },
                        },
                        **_UPLOAD_ERRORS,
                        "501": _error("LIME is not available in this installation."),
                    },
                }
            },
            "/api/chat": {
                "post": {
                    "summary": "Ask the mpox chatbot",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["message"],
                                    "properties": {
                                        "message": {"type": "string", "maxLength": 1000}
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "An answer, a refusal (a diagnosis was asked for) or "
                            "'unknown'.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ChatReply"}
                                }
                            },
                        },
                        "400": _error("Not a JSON object with a string 'message'."),
                        "422": _error("The message is too long."),
                    },
                }
            },
            "/api/health": {
                "get": {
                    "summary": "Liveness and the model's identity",
                    "responses": {
                        "200": {
                            "description": "Serving.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Health"}
                                }
                            },
                        }
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["ok", "status", "error", "message"],
                    "properties": {
                        "ok": {"type": "boolean", "enum": [False]},
                        "status": {"type": "integer"},
                        "error": {"type": "string", "description": "HTTP reason phrase."},
                        "message": {"type": "string", "description": "What is wrong."},
                    },
                },
                "Refusal": {
                    "type": "object",
                    "required": ["ok", "status", "error", "code", "message", "advice"],
                    "properties": {
                        "ok": {"type": "boolean", "enum": [False]},
                        "status": {"type": "integer", "enum": [422]},
                        "error": {"type": "string"},
                        "refused": {"type": "boolean", "enum": [True]},
                        "code": {
                            "type": "string",
                            "enum": [
                                "too_small",
                                "blank",
                                "too_dark",
                                "too_bright",
                                "too_blurry",
                                "collage",
                                "not_skin",
                            ],
                        },
                        "message": {"type": "string", "description": "What is wrong."},
                        "advice": {"type": "string", "description": "How to take a better photo."},
                        "file": {"type": "string"},
                        "gate": {
                            "type": "object",
                            "description": "The statistics behind the verdict.",
                        },
                    },
                },
                "Report": {
                    "type": "object",
                    "required": ["kind", "generated", "screened", "gate", "model", "disclaimer"],
                    "properties": {
                        "kind": {"type": "string"},
                        "generated": {"type": "string", "format": "date-time"},
                        "file": {"type": "string"},
                        "screened": {"type": "boolean"},
                        "gate": {"type": "object"},
                        "result": {"type": "object"},
                        "model": {"type": "object"},
                        "photo_png_base64": {"type": "string", "format": "byte"},
                        "explanation_map": {"type": "object"},
                        "explanation_map_png_base64": {"type": "string", "format": "byte"},
                        "disclaimer": {"type": "string"},
                    },
                },
                "Feature": {
                    "type": "object",
                    "properties": {
                        "feature": {"type": "string"},
                        "readable": {"type": "string"},
                        "family": {"type": "string"},
                        "contribution": {
                            "type": "number",
                            "description": "SHAP value, positive = towards mpox.",
                        },
                        "direction": {"type": "string"},
                        "percent": {"type": "number"},
                        "value": {"type": "number"},
                        "raw_value": {"type": "number"},
                    },
                },
                "Prediction": {
                    "type": "object",
                    "required": ["ok", "file", "label", "probability", "threshold", "disclaimer"],
                    "properties": {
                        "ok": {"type": "boolean"},
                        "file": {"type": "string", "description": "Display name of the upload."},
                        "label": {"type": "string", "enum": ["mpox", "not_mpox"]},
                        "probability": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 1,
                            "description": "Calibrated probability of mpox.",
                        },
                        "threshold": {"type": "number"},
                        "explanation_output": {"type": "string"},
                        "top_features": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Feature"},
                        },
                        "families": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "family": {"type": "string"},
                                    "label": {"type": "string"},
                                    "contribution": {
                                        "type": "number",
                                        "description": "SHAP values summed over every feature "
                                        "of the family.",
                                    },
                                    "total": {"type": "number"},
                                    "percent": {"type": "number"},
                                    "n_features": {"type": "integer"},
                                },
                            },
                        },
                        "gate": {"type": "object", "description": "The input gate's verdict."},
                        "disclaimer": {"type": "string"},
                        "model": {
                            "type": "object",
                            "properties": {"manifest_sha256": {"type": "string"}},
                        },
                    },
                },
                "Explanation": {
                    "type": "object",
                    "properties": {
                        "ok": {"type": "boolean"},
                        "file": {"type": "string"},
                        "media_type": {"type": "string", "enum": ["image/png"]},
                        "overlay_png_base64": {"type": "string", "format": "byte"},
                        "explanation": {
                            "type": "object",
                            "description": "LIME's summary: label, probability_mpox, "
                            "highlighted_superpixels (with weights), coverage, local_model_r2, "
                            "num_samples, seed, segmentation.",
                        },
                        "disclaimer": {"type": "string"},
                    },
                },
                "ChatReply": {
                    "type": "object",
                    "required": ["ok", "kind", "text"],
                    "properties": {
                        "ok": {"type": "boolean"},
                        "kind": {"type": "string", "enum": ["answer", "refusal", "unknown"]},
                        "text": {"type": "string"},
                        "entry_id": {"type": "string", "nullable": True},
                        "score": {"type": "number"},
                        "sources": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "title": {"type": "string"},
                                    "url": {"type": "string"},
                                },
                            },
                        },
                        "suggestions": {"type": "array", "items": {"type": "string"}},
                        "reason": {"type": "string"},
                        "confidence": {
                            "type": "string",
                            "enum": ["high", "medium", ""],
                            "description": "For answers; medium ones come with 'also' links.",
                        },
                        "also": {
                            "type": "array",
                            "description": "'Did you also mean' questions of a medium answer.",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "entry_id": {"type": "string"},
                                    "question": {"type": "string"},
                                },
                            },
                        },
                        "body": {"type": "string", "description": "text without sources"},
                        "as_of": {"type": "string", "description": "date the facts hold for"},
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status", "model"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok"]},
                        "poxscan_version": {"type": "string"},
                        "lime": {"type": "boolean"},
                        "model": {
                            "type": "object",
                            "properties": {
                                "manifest_sha256": {"type": "string"},
                                "families": {"type": "array", "items": {"type": "string"}},
                                "threshold": {"type": "number"},
                                "calibration": {"type": "string", "nullable": True},
                                "explanations": {"type": "boolean"},
                            },
                        },
                    },
                },
            }
        },
    }
