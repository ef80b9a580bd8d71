"""The web app (Flask test client) on a real model and real images: pages, JSON API, bad input."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from _trained_models import copy_model, feature_data, flip_byte, trained_model_dir
from PIL import Image

from poxscan.core.imageio import load_image
from poxscan.pipelines.persistence import manifest_sha256
from poxscan.predict import LABELS
from poxscan.web import create_app
from poxscan.web.feature_names import group_by_family, readable_feature
from poxscan.web.markdown import markdown_to_html

WEB = Path(__file__).resolve().parents[1] / "poxscan" / "web"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_root) -> Path:
    return trained_model_dir(str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root))


@pytest.fixture(scope="module")
def image_paths(tmp_path_factory, data_root) -> list[str]:
    """Two mpox and two other MSLD photos."""
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    _, y, _, paths = feature_data(root, str(data_root))
    pos = [p for p, t in zip(paths, y, strict=True) if t == 1][:2]
    neg = [p for p, t in zip(paths, y, strict=True) if t == 0][:2]
    return pos + neg


@pytest.fixture(scope="module")
def jpeg(image_paths) -> bytes:
    return Path(image_paths[0]).read_bytes()


@pytest.fixture(scope="module")
def app(model_dir):
    return create_app(model_dir, {"LIME": False})


@pytest.fixture
def client(app):
    return app.test_client()


def upload(client, url: str, data: bytes | None, filename: str = "lesion.jpg", **form):
    fields = dict(form)
    if data is not None:
        fields["file"] = (io.BytesIO(data), filename)
    return client.post(url, data=fields, content_type="multipart/form-data")


def encoded(fmt: str, size=(64, 48), **kwargs) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 90)).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


# -- predictions ---------------------------------------------------------------------------------
def test_api_predict_real_images_match_the_predictor(app, client, image_paths):
    predictor = app.extensions["poxscan"].predictor
    for path in image_paths:
        data = Path(path).read_bytes()
        r = upload(client, "/api/predict", data, filename=Path(path).name)
        assert r.status_code == 200, r.get_data(as_text=True)
        body = r.get_json()
        expected = predictor.predict_image(load_image(data), top_k=8)
        assert body["ok"] is True and body["file"] == Path(path).name
        assert body["label"] == expected.label and body["label"] in LABELS
        assert body["probability"] == pytest.approx(expected.probability, abs=1e-9)
        assert 0.0 <= body["probability"] <= 1.0
        assert body["label"] == LABELS[int(body["probability"] >= body["threshold"])]
        assert "not a diagnosis" in body["disclaimer"]
        assert body["model"]["manifest_sha256"] == predictor.info()["manifest_sha256"]
        feats = body["top_features"]
        assert [f["feature"] for f in feats] == [f["feature"] for f in expected.top_features]
        assert all(f["readable"] and "__" not in f["readable"] for f in feats)
        assert sum(f["percent"] for f in feats) == pytest.approx(100.0)
        assert {g["family"] for g in body["families"]} == {f["family"] for f in feats}


def test_result_page_shows_label_probability_caution_and_features(client, jpeg):
    r = upload(client, "/predict", jpeg, filename="M_lesion.jpg")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    api = upload(client, "/api/predict", jpeg).get_json()
    label = re.search(r'id="result-label" data-label="([a-z_]+)"', page).group(1)
    prob = float(re.search(r'id="result-probability" data-probability="([0-9.]+)"', page).group(1))
    assert label == api["label"]
    assert prob == pytest.approx(api["probability"], abs=1e-4)
    assert f"{100 * api['probability']:.0f} %" in page
    assert "screening aid, not a diagnosis" in page and "clinician" in page
    assert "What weighed most" in page
    assert readable_feature(api["top_features"][0]["feature"]) in page
    assert 'src="data:image/png;base64,' in page  # the thumbnail, re-encoded from the pixels
    assert "M_lesion.jpg" in page


# -- bad input -----------------------------------------------------------------------------------
def _bomb_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (7000, 7000), 0).save(buf, format="PNG")  # 49 M pixels, a small file
    return buf.getvalue()


BAD_UPLOADS = {
    "text file": (b"this is not a picture, just words\n" * 20, "notes.jpg", 415, "not an image"),
    "truncated jpeg": (None, "cut.jpg", 422, "truncated"),
    "gif": (encoded("GIF"), "anim.gif", 415, "GIF"),
    "pdf": (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
        "scan.pdf",
        415,
        "not an image",
    ),
    "empty file": (b"", "empty.jpg", 422, "empty"),
    "no file chosen": (b"", "", 400, "No file was chosen"),
    "no file field": (None, None, 400, "No image was uploaded"),
    "hostile name, not an image": (
        b"<svg onload=alert(1)>",
        "../../etc/<script>x.jpg",
        415,
        "not an image",
    ),
    "decompression bomb": (None, "bomb.png", 422, "pixels"),
}


def _bad_payload(case: str, jpeg: bytes) -> tuple[bytes | None, str | None]:
    data, name, _, _ = BAD_UPLOADS[case]
    if case == "truncated jpeg":
        data = jpeg[: len(jpeg) // 2]
    elif case == "decompression bomb":
        data = _bomb_png()
    return data, name


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_gets_a_4xx_with_a_message_and_the_server_goes_on(client, jpeg, case):
    data, name = _bad_payload(case, jpeg)
    _, _, status, words = BAD_UPLOADS[case]
    fields = {} if name is None else {"file": (io.BytesIO(data), name)}
    r = client.post("/api/predict", data=fields, content_type="multipart/form-data")
    assert r.status_code == status, r.get_data(as_text=True)
    body = r.get_json()
    assert body["ok"] is False and body["status"] == status
    assert words.lower() in body["message"].lower()
    if name:
        # The message names the file (its base name only).
        assert Path(name.replace("\\", "/")).name in body["message"]
    # The same upload through the HTML form: an error page with the message, escaped.
    fields = {} if name is None else {"file": (io.BytesIO(data), name)}
    r = client.post("/predict", data=fields, content_type="multipart/form-data")
    assert r.status_code == status
    page = r.get_data(as_text=True)
    assert r.mimetype == "text/html" and 'id="error-message"' in page
    assert words.lower() in page.lower()
    assert "<script>x.jpg" not in page and "/etc/" not in page
    # ... and the next good request is served.
    good = upload(client, "/api/predict", jpeg)
    assert good.status_code == 200 and good.get_json()["label"] in LABELS


def test_upload_over_the_size_limit_is_413(client, jpeg):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    huge = jpeg + b"\0" * (limit + 1 - len(jpeg))
    r = upload(client, "/api/predict", huge, filename="huge.jpg")
    assert r.status_code == 413
    assert r.get_json()["message"].startswith("The upload is larger than the limit of 10 MB")
    r = upload(client, "/predict", huge, filename="huge.jpg")
    assert r.status_code == 413 and "larger than the limit" in r.get_data(as_text=True)
    assert upload(client, "/api/predict", jpeg).status_code == 200


def test_type_comes_from_the_content_not_the_name_or_content_type(client, jpeg):
    png = io.BytesIO()
    Image.fromarray(load_image(jpeg)).save(png, format="PNG")
    r = client.post(
        "/api/predict",
        data={"file": (io.BytesIO(png.getvalue()), "photo.gif", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200  # a PNG named .gif and sent as PDF is still a PNG
    r = client.post(
        "/api/predict",
        data={"file": (io.BytesIO(encoded("GIF")), "photo.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 415 and "GIF" in r.get_json()["message"]


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("/var/www/../../root/.ssh/id_rsa.jpg", "id_rsa.jpg"),
        ("<script>.jpg", "&lt;script&gt;.jpg"),
        ("<img src=x onerror=alert(1)>.jpg", "&lt;img src=x onerror=alert(1)&gt;.jpg"),
        ("a\x00b\x1b[31m.jpg", "ab[31m.jpg"),
    ],
)
def test_hostile_file_names_are_only_shown_escaped_and_never_used_on_disk(
    model_dir, jpeg, tmp_path, monkeypatch, filename, shown
):
    keep = tmp_path / "kept"
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    app = create_app(model_dir, {"keep_uploads_dir": str(keep), "LIME": False})
    client = app.test_client()
    r = upload(client, "/predict", jpeg, filename=filename)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert f'<span class="filename">{shown}</span>' in page
    assert "<script>.jpg" not in page and "<img src=x" not in page
    r = upload(client, "/api/predict", jpeg, filename=filename)
    assert r.status_code == 200 and "/" not in r.get_json()["file"]
    # The only file written is the kept upload, named by its pixels' hash, as a PNG.
    from poxscan.core.imageio import image_hash

    assert sorted(p.name for p in keep.iterdir()) == [f"{image_hash(load_image(jpeg))}.png"]
    assert list(work.iterdir()) == []
    kept = Image.open(keep / f"{image_hash(load_image(jpeg))}.png")
    assert kept.format == "PNG" and not kept.info.get("exif")
    np.testing.assert_array_equal(np.asarray(kept.convert("RGB")), load_image(jpeg))


def test_display_names_drop_paths_and_control_characters():
    from poxscan.web.uploads import display_name

    assert display_name("..\\..\\windows\\win.ini.jpg") == "win.ini.jpg"
    assert display_name("C:\\Users\\x\\IMG_0001.JPG") == "IMG_0001.JPG"
    assert display_name("../..") == "upload" and display_name(None) == "upload"
    assert display_name("a\u202eb\tc\x00.jpg") == "abc.jpg"
    assert len(display_name("x" * 500 + ".jpg")) == 80


def test_nothing_is_kept_by_default(model_dir, jpeg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app(model_dir, {"LIME": False})
    assert app.config["KEEP_UPLOADS_DIR"] is None
    assert upload(app.test_client(), "/predict", jpeg).status_code == 200
    assert list(tmp_path.iterdir()) == []


def test_unexpected_errors_are_a_clean_500(app, client, monkeypatch):
    state = app.extensions["poxscan"]

    class Broken:
        def reply(self, text):
            raise RuntimeError("secret internal detail")

    monkeypatch.setattr(state, "chatbot", Broken())
    r = client.post("/api/chat", json={"message": "how does mpox spread?"})
    assert r.status_code == 500
    body = r.get_json()
    assert body["ok"] is False and "secret" not in json.dumps(body)
    r = client.post("/chat", data={"message": "how does mpox spread?"})
    assert r.status_code == 500 and "secret" not in r.get_data(as_text=True)
    assert 'id="error-message"' in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/no/such/page", 404),
        ("get", "/api/predict", 405),
        ("put", "/api/chat", 405),
        ("get", "/api/nothing", 404),
        ("get", "/model/shap/../../manifest.json", 404),
        ("get", "/model/shap/nope.png", 404),
    ],
)
def test_http_errors_are_pages_or_json(client, method, url, status):
    r = getattr(client, method)(url)
    assert r.status_code == status
    if url.startswith("/api/"):
        body = r.get_json()
        assert body["ok"] is False and body["status"] == status and body["message"]
    else:
        assert r.mimetype == "text/html" and 'id="error-message"' in r.get_data(as_text=True)
    if status == 405:
        assert "POST" in r.headers["Allow"]


# -- chat ----------------------------------------------------------------------------------------
def test_chat_api_answers_and_refuses_diagnosis(client):
    r = client.post("/api/chat", json={"message": "How does mpox spread?"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] and body["kind"] == "answer" and body["sources"]
    assert "contact" in body["text"].lower()
    r = client.post("/api/chat", json={"message": "I have spots on my arm, do I have mpox?"})
    body = r.get_json()
    assert r.status_code == 200 and body["kind"] == "refusal"
    assert "clinician" in body["text"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"text": "hi"}}, 400),
        ({"json": {"message": 3}}, 400),
        ({"json": ["hi"]}, 400),
        ({"data": "message=hi"}, 400),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"json": {"message": "mpox " * 500}}, 422),
    ],
)
def test_chat_api_bad_requests(client, kwargs, status):
    r = client.post("/api/chat", **kwargs)
    assert r.status_code == status
    assert r.get_json()["ok"] is False and r.get_json()["message"]
    assert client.post("/api/chat", json={"message": "what is mpox"}).status_code == 200


def test_chat_works_without_javascript(client):
    assert client.get("/chat").status_code == 200
    r = client.post("/chat", data={"message": "How is mpox treated? <b>now</b>"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "How is mpox treated? &lt;b&gt;now&lt;/b&gt;" in page
    assert re.search(r'class="chat-msg chat-bot chat-(answer|unknown)"', page)


# -- health, API description, model card ----------------------------------------------------------
def test_health_names_the_model(client, model_dir):
    r = client.get("/api/health")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert body["model"]["manifest_sha256"] == manifest_sha256(model_dir)
    assert body["model"]["families"] == ["color"]
    assert body["lime"] is False
    assert str(model_dir) not in r.get_data(as_text=True)  # no server paths leak


def _resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_documents_every_route(app, client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.get_data(as_text=True))
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] and doc["info"]["version"]
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert routes, "the app has no routes"
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented routes the app does not have"
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc))
    assert refs and all(_resolve(doc, ref) for ref in refs)
    for path, ops in doc["paths"].items():
        params = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            assert op["responses"] and all(re.fullmatch(r"[1-5]\d\d", c) for c in op["responses"])
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == params, path


def test_model_card_page_renders_the_verified_card(client, model_dir):
    r = client.get("/model")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<h1>poxscan model card</h1>" in page and "<h2>Intended use</h2>" in page
    assert "<strong>A screening aid, not a diagnosis.</strong>" in page
    assert "<table>" in page and "<th>metric</th>" in page
    assert manifest_sha256(model_dir) in page
    plots = re.findall(r'src="/model/shap/([\w.]+\.png)"', page)
    assert plots
    png = client.get(f"/model/shap/{plots[0]}")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data == (model_dir / "shap" / plots[0]).read_bytes()


def test_markdown_is_escaped_before_markup():
    html = str(
        markdown_to_html(
            "# T <img src=x onerror=alert(1)>\n\nSee **this** and `<b>code</b>` "
            "[link](javascript:alert(1)) [ok](https://who.int/a?b=1&c=2)\n\n"
            "| a | b |\n|---|---|\n| <i>x</i> | 1 |\n\n- one\n- two *em*\n"
        )
    )
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>this</strong>" in html and "<code>&lt;b&gt;code&lt;/b&gt;</code>" in html
    assert 'href="javascript' not in html
    assert '<a href="https://who.int/a?b=1&amp;c=2" rel="noopener noreferrer">ok</a>' in html
    assert "<td>&lt;i&gt;x&lt;/i&gt;</td>" in html
    assert "<ul><li>one</li><li>two <em>em</em></li></ul>" in html


# -- security and pages --------------------------------------------------------------------------
def test_security_headers_and_no_inline_code(client):
    for url in ("/", "/chat", "/model", "/api/health", "/no/such/page"):
        r = client.get(url)
        csp = r.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        )
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "no-store"
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape" not in text, template
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {template}"
        assert not re.search(r"\son\w+=|\sstyle=", text), f"inline handler/style in {template}"
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"external resource in {template}"


def test_pages_are_responsive_and_served_locally(client):
    page = client.get("/").get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    assert 'action="/predict"' in page and 'action="/chat#chat"' in page
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        r = client.get(asset)
        assert r.status_code == 200 and r.data, asset
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "@media" in css and "max-width" in css


# -- explanations --------------------------------------------------------------------------------
def test_feature_names_are_readable_and_grouped():
    assert readable_feature("color__lab_a_p90") == "redness: 90th percentile of Lab a*"
    assert readable_feature("color__lab_a_mean") == "redness: mean of Lab a*"
    assert readable_feature("color__hsv_h_hist03") == "hue: histogram bin 4 of HSV H"
    assert readable_feature("texture__glcm_contrast_d2_mean") == "contrast of texture at 2 px"
    assert "local binary pattern" in readable_feature("texture__lbp_p24_r3_bin21")
    assert "area (7, 7)" in readable_feature("hog__block6_6_cell1_1_ori4")
    assert readable_feature("deep__resnet50v2_17") == "deep-network pattern (resnet50v2 unit 17)"
    rows = [
        {"feature": "hog__block0_0_cell0_0_ori1", "family": "hog", "contribution": -0.1},
        {"feature": "color__lab_a_mean", "family": "color", "contribution": 0.5},
        {"feature": "color__lab_l_std", "family": "color", "contribution": -0.4},
    ]
    groups = group_by_family(rows)
    assert [g["family"] for g in groups] == ["color", "hog"]
    assert groups[0]["label"] == "colour" and groups[0]["total"] == pytest.approx(0.1)
    assert groups[0]["percent"] == pytest.approx(90.0) and groups[1]["percent"] == pytest.approx(
        10.0
    )


def test_lime_overlay_is_optional_and_shown_where_available(model_dir, jpeg):
    calls = []

    def fake_overlay(predictor, image):
        calls.append(image.shape)
        return encoded("PNG", size=(32, 32))

    app = create_app(model_dir, {"LIME": fake_overlay})
    client = app.test_client()
    assert 'name="lime"' in client.get("/").get_data(as_text=True)
    r = upload(client, "/predict", jpeg)  # not asked for: not computed
    assert r.status_code == 200 and not calls and 'alt="LIME overlay' not in r.get_data(True)
    r = upload(client, "/predict", jpeg, lime="1")
    assert r.status_code == 200 and calls == [load_image(jpeg).shape]
    assert 'alt="LIME overlay of the photo"' in r.get_data(as_text=True)
    r = upload(client, "/api/explain", jpeg)
    import base64

    assert r.status_code == 200
    assert base64.b64decode(r.get_json()["overlay_png_base64"]).startswith(b"\x89PNG")
    assert upload(client, "/api/explain", b"nope").status_code == 415


def test_real_lime_overlay(model_dir, jpeg):
    from poxscan.web.overlay import resolve_lime

    assert resolve_lime() is not None, "lime or poxscan.pipelines.lime_explain is missing"
    app = create_app(model_dir, {"LIME_NUM_SAMPLES": 20})
    client = app.test_client()
    assert client.get("/api/health").get_json()["lime"] is True
    expected = upload(client, "/api/predict", jpeg).get_json()
    r = upload(client, "/api/explain", jpeg)
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    import base64

    with Image.open(io.BytesIO(base64.b64decode(body["overlay_png_base64"]))) as overlay:
        assert overlay.format == "PNG" and overlay.width > 200
    summary = body["explanation"]
    assert summary["num_samples"] == 20 and summary["method"] == "lime"
    # MSLD photos are 224x224, the model's own view: LIME explains the same decision.
    assert summary["label"] == expected["label"]
    assert summary["probability_mpox"] == pytest.approx(expected["probability"], abs=1e-6)


def test_without_lime_the_option_is_hidden_and_the_api_says_501(client, jpeg):
    assert 'name="lime"' not in client.get("/").get_data(as_text=True)
    r = upload(client, "/api/explain", jpeg)
    assert r.status_code == 501 and "not available" in r.get_json()["message"]
    r = upload(client, "/predict", jpeg, lime="1")
    assert r.status_code == 200 and "not available" in r.get_data(as_text=True)


# -- the command -----------------------------------------------------------------------------------
def test_serve_refuses_a_tampered_or_unpinned_model(model_dir, tmp_path, capsys):
    from poxscan.cli import main
    from poxscan.pipelines.persistence import ModelIntegrityError

    bad = copy_model(model_dir, tmp_path / "tampered")
    flip_byte(bad / "model_card.md")
    with pytest.raises(ModelIntegrityError):
        create_app(bad)
    assert main(["serve", "--model", str(bad), "--port", "0"]) == 2
    assert "model_card.md" in capsys.readouterr().err
    assert main(["serve", "--model", str(model_dir), "--manifest-sha256", "0" * 64]) == 2
    assert "poxscan serve: error" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "--host", "0.0.0.0"],
        ["--threads", "0"],
        ["--max-upload-mb", "0"],
        ["--lime-samples", "2"],
    ],
)
def test_serve_rejects_unsafe_or_invalid_options(model_dir, argv, capsys):
    from poxscan.cli import main

    assert main(["serve", "--model", str(model_dir), *argv]) == 2
    assert "poxscan serve: error" in capsys.readouterr().err
