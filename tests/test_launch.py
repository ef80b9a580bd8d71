"""The multipart body clients upload photos with, parsed by the web framework's own parser."""

from __future__ import annotations

import io

from werkzeug.formparser import parse_form_data

from poxscan.web.launch import SERVING, multipart_photo


def test_multipart_photo_parses_back_to_the_same_bytes():
    data = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n"
    body, content_type = multipart_photo(data, "lesion.jpg", "image/jpeg")
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    _, form, files = parse_form_data(environ)
    assert not form and list(files) == ["file"]
    upload = files["file"]
    assert upload.filename == "lesion.jpg" and upload.mimetype == "image/jpeg"
    assert upload.read() == data


def test_two_bodies_use_different_boundaries():
    assert multipart_photo(b"x")[1] != multipart_photo(b"x")[1]


def test_the_serving_line_gives_url_and_port():
    m = SERVING.search("poxscan: serving on http://127.0.0.1:43211/ (Ctrl+C stops)")
    assert m.group(1) == "http://127.0.0.1:43211/" and m.group(2) == "43211"
