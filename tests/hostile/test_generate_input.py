"""``kontext-contract generate`` on bad input: exit 2, the message names the file, option or field, no
traceback, and nothing is submitted (so nothing is paid for)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image

from kontext_contract.cli._generate import command as generate_command
from kontext_contract.mock import MockConfig, MockServer


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(MockConfig()) as running:
        yield running


def submits(server: MockServer) -> int:
    total: int = httpx.get(server.base_url + "/_mock/stats").json()["submits_total"]
    return total


def invoke(server: MockServer, *args: str, env: dict[str, str] | None = None) -> Any:
    environment = {"FAL_KEY": "mock-key-id:mock-key-secret", **(env or {})}
    return CliRunner().invoke(
        generate_command, ["a fox", "--base-url", server.base_url, *args], env=environment
    )


def _files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "notimage.jpg").write_bytes(b"hello world!")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    png = tmp_path / "truncated.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(png)
    png.write_bytes(png.read_bytes()[:40])
    (tmp_path / "a-file").write_text("x")
    return {p.name: p for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("make_args", "named"),
    [
        (lambda f: ["--image", str(f["notimage.jpg"])], ["--image", "notimage.jpg", "not a readable image"]),
        (lambda f: ["--image", str(f["empty.png"])], ["--image", "empty.png"]),
        (lambda f: ["--image", str(f["truncated.png"])], ["--image", "truncated.png"]),
        (lambda f: ["--image", str(f["folder"])], ["--image", "folder", "neither a URL nor a file"]),
        (lambda f: ["--image", "/no/such/file.png"], ["--image", "/no/such/file.png"]),
        (lambda f: ["--out", str(f["a-file"] / "sub")], ["--out", "a-file"]),
        (lambda f: ["--num-images", "9"], ["--num-images", "num_images"]),
        (lambda f: ["--num-images", "zero"], ["--num-images"]),
        (lambda f: ["--aspect-ratio", "7:5"], ["--aspect-ratio", "aspect_ratio"]),
        (lambda f: ["--safety-tolerance", "9"], ["--safety-tolerance", "safety_tolerance"]),
        (lambda f: ["--wait-timeout", "0"], ["--wait-timeout"]),
        (lambda f: ["--wait-timeout", "-3"], ["--wait-timeout"]),
        (lambda f: ["--request-timeout", "nan"], ["--request-timeout"]),
        (lambda f: ["--endpoint", "fal-ai/other"], ["--endpoint"]),
        (
            lambda f: [
                "--max",
                "--endpoint",
                "fal-ai/flux-pro/kontext",
                "--image",
                "https://e.x/a.png",
                "--image",
                "https://e.x/b.png",
            ],
            ["exactly one --image"],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_input_exits_2_naming_it_and_submits_nothing(
    server: MockServer, tmp_path: Path, make_args: Any, named: list[str]
) -> None:
    files = _files(tmp_path)
    before = submits(server)
    result = (
        invoke(server, *make_args(files), "--out", str(tmp_path / "out"))
        if "--out" not in make_args(files)
        else invoke(server, *make_args(files))
    )
    assert result.exit_code == 2, result.output
    for text in named:
        assert text in result.output, (text, result.output)
    assert "Traceback" not in result.output
    assert submits(server) == before


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--base-url", "ftp://relay.example"], {}, ["ftp://relay.example"]),
        (["--base-url", "https://user:pw@relay.example"], {}, ["--base-url"]),
        ([], {"FAL_KEY": ""}, ["FAL_KEY"]),
        (["--provider", "relay"], {}, ["--base-url"]),
        (["--provider", "relay-a", "--key-env", "X"], {}, ["--key-env"]),
    ],
)
def test_bad_provider_options_exit_2(args: list[str], env: dict[str, str], named: list[str]) -> None:
    environment = {"FAL_KEY": "a:b", "FAL_KEY_ID": "", "FAL_KEY_SECRET": "", **env}
    result = CliRunner().invoke(generate_command, ["a fox", *args], env=environment)
    assert result.exit_code == 2, result.output
    for text in named:
        assert text in result.output
    assert "Traceback" not in result.output
    assert "pw" not in result.output


def test_a_large_image_file_is_refused_before_it_is_read(
    server: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kontext_contract.cli import _generate as _cli

    monkeypatch.setattr(_cli, "MAX_IMAGE_FILE_BYTES", 1000)
    big = tmp_path / "big.png"
    Image.new("RGB", (400, 400)).save(big, compress_level=0)
    before = submits(server)
    result = invoke(server, "--image", str(big), "--out", str(tmp_path))
    assert result.exit_code == 2 and "--image" in result.output and "big.png" in result.output
    assert "pass a URL instead" in result.output
    assert submits(server) == before


def test_good_input_still_works(server: MockServer, tmp_path: Path) -> None:
    image = tmp_path / "in.png"
    Image.new("RGB", (64, 48), (10, 20, 30)).save(image)
    result = invoke(server, "--image", str(image), "--out", str(tmp_path / "out"), "--wait-timeout", "30")
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "out").iterdir()
    assert written.suffix == ".jpg" and written.stat().st_size > 0
    assert not list((tmp_path / "out").glob("*.part")) and not list((tmp_path / "out").glob(".kontext-*"))
