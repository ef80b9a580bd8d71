"""A low-compute site's install: ``pip install 'poxscan[lite,web]'`` in a fresh virtual environment.

The wheel is built from this checkout, a new ``python -m venv`` gets it with the ``lite`` and
``web`` extras (pip resolves them from its index, wheelhouse or cache: no TensorFlow, Keras or
weight package is installed at all), and there a lite model directory made by ``poxscan train
--runtime litert-int8`` is loaded, predicts a real photo (``poxscan predict --json``) and
answers one request of ``poxscan serve``. The probabilities must equal this environment's.
Takes a few minutes (the install); it never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from _trained_models import lite_model_dir, subset_records, workspace

pytestmark = [pytest.mark.slow, pytest.mark.deep]

REPO = Path(__file__).resolve().parents[1]
#: Pinned to this environment's versions, so the pickled pipeline meets the versions it was
#: saved with (a real site installs what the model's manifest records).
PINNED = ("numpy", "scipy", "scikit-learn", "scikit-image", "opencv-python-headless", "pandas",
          "joblib", "xgboost", "shap", "ai-edge-litert")  # fmt: skip


def _run(cmd: list[str], timeout: int = 900, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _shared_site_venv() -> Path | None:
    """The site venv ``.ci/wheel-check`` made from this checkout's wheel, when it says so
    (``$POXSCAN_SITE_VENV``): the same install, so CI does not make it twice."""
    shared = os.environ.get("POXSCAN_SITE_VENV")
    if not shared:
        return None
    python = Path(shared) / "bin" / "python"
    assert python.is_file(), f"$POXSCAN_SITE_VENV={shared} holds no virtual environment"
    code = (
        "import json, sys; from importlib import metadata; "
        "print(json.dumps({d: metadata.version(d) for d in sys.argv[1:]}))"
    )
    got = json.loads(_run([str(python), "-c", code, "poxscan", *PINNED]).stdout)
    want = {d: metadata.version(d) for d in ("poxscan", *PINNED)}
    assert got == want, f"{shared} is not this checkout's site install: {got} != {want}"
    return Path(shared)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the wheel and its lite + web extras, nothing else."""
    shared = _shared_site_venv()
    if shared is not None:
        return shared
    base = tmp_path_factory.mktemp("lite-venv")
    wheels = base / "wheels"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(wheels),
          str(REPO)], cwd=base)  # fmt: skip
    (wheel,) = wheels.glob("poxscan-*.whl")
    env_dir = base / "venv"
    _run([sys.executable, "-m", "venv", str(env_dir)])
    constraints = base / "constraints.txt"
    constraints.write_text("".join(f"{d}=={metadata.version(d)}\n" for d in PINNED))
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run([*pip, "-c", str(constraints), f"{wheel}[lite,web]"], timeout=1500)
    return env_dir


@pytest.fixture(scope="module")
def lite_dir(tmp_path_factory, data_root) -> Path:
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    return lite_model_dir(root, str(data_root))


@pytest.fixture(scope="module")
def photo(tmp_path_factory, data_root) -> str:
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    records = subset_records(workspace(root), Path(data_root))
    return str(records[records["y"] == 1]["path"].iloc[0])


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory) -> str:
    """A non-skin photo (scikit-image's astronaut), written by the test."""
    import skimage.data
    from PIL import Image

    path = tmp_path_factory.mktemp("nonskin") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return str(path)


def test_no_tensorflow_is_installed(venv):
    python = str(venv / "bin" / "python")
    code = (
        "import importlib.util, importlib.metadata as m, json\n"
        "mods = {n: importlib.util.find_spec(n) is not None for n in "
        "('tensorflow', 'keras', 'tf_keras', 'torch', 'ai_edge_litert', 'flask')}\n"
        "dists = sorted(d.metadata['Name'].lower() for d in m.distributions())\n"
        "print(json.dumps({'mods': mods, 'dists': dists}))\n"
    )
    out = json.loads(_run([python, "-c", code]).stdout)
    assert out["mods"] == {"tensorflow": False, "keras": False, "tf_keras": False,
                           "torch": False, "ai_edge_litert": True, "flask": True}  # fmt: skip
    assert not [d for d in out["dists"] if d.startswith(("tensorflow", "keras", "efficientnet"))]
    assert "poxscan" in out["dists"]


def test_predict_in_the_lite_venv(venv, lite_dir, photo):
    from poxscan.predict import Predictor

    proc = _run([str(venv / "bin" / "poxscan"), "predict", "--json", "--model", str(lite_dir),
                 photo], env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    payload = json.loads(proc.stdout)
    assert payload["model"]["runtime"] == "litert-int8"
    (result,) = payload["results"]
    want = Predictor.load(lite_dir).predict_paths([photo])[0]
    assert result["ok"] and result["probability"] == pytest.approx(want.probability, abs=1e-6)
    assert result["label"] == want.label and len(result["top_features"]) == 5


def test_the_gate_refuses_a_non_skin_photo_in_the_lite_venv(venv, lite_dir, photo, astronaut):
    """The lite gate (int8 embedding, LiteRT) runs where TensorFlow is not installed."""
    cmd = [str(venv / "bin" / "poxscan"), "predict", "--json", "--model", str(lite_dir)]
    proc = subprocess.run([*cmd, astronaut, photo], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]  # 1: an image was not screened
    refused, screened = json.loads(proc.stdout)["results"]
    assert not refused["ok"] and refused["code"] == "not_skin" and "probability" not in refused
    assert refused["message"].startswith("This does not look like a photo of skin")
    assert screened["ok"] and 0 <= screened["probability"] <= 1


def _upload(url: str, path: str) -> urllib.request.Request:
    from poxscan.web.launch import multipart_photo

    body, content_type = multipart_photo(Path(path).read_bytes(), "x.jpg", "image/jpeg")
    return urllib.request.Request(
        url + "api/predict", data=body, headers={"Content-Type": content_type}
    )


def test_serve_one_request_in_the_lite_venv(venv, lite_dir, photo, astronaut):
    from poxscan.predict import Predictor
    from poxscan.web.launch import start_serve

    served = start_serve(lite_dir, command=[str(venv / "bin" / "poxscan")], timeout=300)
    url = served.url
    try:
        answer = json.load(urllib.request.urlopen(_upload(url, photo), timeout=120))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(_upload(url, astronaut), timeout=120)
        assert refused.value.code == 422
        body = json.load(refused.value)
        assert body["code"] == "not_skin" and "probability" not in body
    finally:
        served.stop()
    want = Predictor.load(lite_dir).predict_paths([photo])[0]
    assert answer["ok"] and answer["probability"] == pytest.approx(want.probability, abs=1e-6)
