"""``kontext-contract generate`` on bad input: exit 2, the message names the file, option or field, no
traceback, and nothing is submitted (so nothing is paid for)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
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


def assert_refused(result: Any, named: list[str]) -> None:
    """Exit 2, each of ``named`` in the message, no traceback."""
    assert result.exit_code == 2, result.output
    for text in named:
        assert text in result.output, (text, result.output)
    assert "Traceback" not in result.output


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
    assert_refused(result, named)
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


# --input FIELD=VALUE and --input-json FILE|- (issue 20): typed by the contract's schema, refused with the
# option and field named, nothing submitted.
BAD_INPUTS = [
    (["--input", "promt=a fox"], ["--input promt", "has no field 'promt'", "did you mean 'prompt'"]),
    (["--input", "num_images=abc"], ["--input num_images", "expected an integer"]),
    (["--input", "num_images=9"], ["--input num_images", "num_images", "less than or equal to 4"]),
    (["--input", "guidance_scale=much"], ["--input guidance_scale", "expected a number"]),
    (["--input", "guidance_scale=inf"], ["--input guidance_scale", "finite"]),
    (["--input", "enhance_prompt=maybe"], ["--input enhance_prompt", "expected a boolean"]),
    (["--input", "output_format=gif"], ["--input output_format", "output_format"]),
    (["--input", "seed"], ["--input", "expected FIELD=VALUE"]),
    (["--input", "=3"], ["--input", "expected FIELD=VALUE"]),
    (["--input", "seed=1", "--input", "seed=2"], ["--input seed", "given twice"]),
    (["--input", "seed=1", "--seed", "2"], ["--input seed", "also set by --seed"]),
    (["--input", "prompt=other"], ["--input prompt", "also set by PROMPT"]),
    (["--input-json", "/no/such.json"], ["--input-json", "/no/such.json"]),
    (
        ["--endpoint", "fal-ai/flux-pro/kontext", "--input", "image_url=/no/such.png"],
        ["--input image_url", "/no/such.png", "neither a URL nor a file"],
    ),
]


@pytest.mark.parametrize(("args", "named"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_fields_exit_2_naming_option_and_field(
    server: MockServer, tmp_path: Path, args: list[str], named: list[str]
) -> None:
    before = submits(server)
    result = invoke(server, *args, "--no-journal", "--out", str(tmp_path))
    assert_refused(result, named)
    assert submits(server) == before


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"{not json", ["--input-json", "is not JSON", "line 1 column 2"]),
        (b"[1, 2]", ["--input-json", "expected a JSON object", "list"]),
        (b'{"seed": NaN}', ["--input-json", "NaN is not JSON"]),
        (b"\xff\xfe{}", ["--input-json", "not UTF-8"]),
        (b"[" * 100_000, ["--input-json", "not JSON"]),
        (b'{"promt": "x"}', ["--input-json", "has no field 'promt'"]),
        (b'{"num_images": "two"}', ["--input-json (num_images)", "num_images"]),
    ],
    ids=["garbage", "array", "nan", "binary", "deep", "unknown", "wrong type"],
)
def test_bad_input_json_exits_2_naming_it(
    server: MockServer, tmp_path: Path, content: bytes, named: list[str]
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(content)
    before = submits(server)
    for source, stdin in ((str(path), None), ("-", content)):
        result = CliRunner().invoke(
            generate_command,
            [
                "a fox",
                "--base-url",
                server.base_url,
                "--no-journal",
                "--out",
                str(tmp_path),
                "--input-json",
                source,
            ],
            env={"FAL_KEY": "mock-key-id:mock-key-secret"},
            input=stdin,
        )
        assert_refused(result, named)
    assert submits(server) == before


def test_input_json_is_merged_under_input_and_the_options(server: MockServer, tmp_path: Path) -> None:
    """--input-json sets num_images 2 and seed 5; --seed 9 wins over it; --input typed values reach the
    provider (the mock validates them against the contract too)."""
    path = tmp_path / "in.json"
    path.write_text('{"num_images": 2, "seed": 5, "guidance_scale": 7}')
    result = invoke(
        server,
        "--input-json",
        str(path),
        "--seed",
        "9",
        "--input",
        "guidance_scale=4.5",
        "--input",
        "enhance_prompt=yes",
        "--no-journal",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 0, result.output
    assert "seed 9, 2 image(s)" in result.output
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_inputs_are_typed_by_the_contract_schema() -> None:
    """The types come from the contract model's input schema, not from a table of our own."""
    from kontext_contract.cli._inputs import _typed, input_fields
    from kontext_contract.client._endpoints import catalog

    assert _typed("3", {"type": "integer"}) == 3
    assert _typed("3.5", {"type": "number"}) == 3.5 and _typed("3", {"type": "number"}) == 3
    assert _typed("off", {"type": "boolean"}) is False and _typed("TRUE", {"type": "boolean"}) is True
    assert _typed("007", {"type": "string"}) == "007"
    assert _typed("16:9", {"enum": ["16:9", "1:1"]}) == "16:9"
    assert _typed('{"a": 1}', {"type": "object"}) == {"a": 1}
    assert _typed("null", {"type": "integer", "nullable": True}) is None
    multi = catalog().get("fal-ai/flux-pro/kontext/multi").model
    _, fields, options = input_fields(
        ("image_urls=https://e.x/a.png", "image_urls=https://e.x/b.png", "num_images=2"),
        None,
        multi,
        lambda value: value,
    )
    assert fields == {"image_urls": ["https://e.x/a.png", "https://e.x/b.png"], "num_images": 2}
    assert options["num_images"] == "--input num_images"


def test_additional_properties_let_unknown_fields_through() -> None:
    """A schema that allows additional properties takes any --input field (a relay's own extension)."""
    import dataclasses

    from kontext_contract.cli._inputs import allows_extra_fields, input_fields
    from kontext_contract.client._endpoints import catalog

    model = catalog().get("fal-ai/flux-pro/kontext").model
    assert not allows_extra_fields(model)
    with pytest.raises(click.BadParameter, match="has no field 'relay_speed'"):
        input_fields(("relay_speed=3",), None, model, lambda v: v)
    name = model.input_schema_name
    assert name is not None
    components = {**model.components, name: {**model.components[name], "additionalProperties": True}}
    open_model = dataclasses.replace(model, components=components)
    assert allows_extra_fields(open_model)
    _, fields, _ = input_fields(("relay_speed=3", "relay_mode=fast"), None, open_model, lambda v: v)
    assert fields == {"relay_speed": 3, "relay_mode": "fast"}


def test_image_fields_by_input_read_files(server: MockServer, tmp_path: Path) -> None:
    """--input image_urls=FILE (one per item) reads each file into a data: URI, as --image does."""
    paths = []
    for name in ("a.png", "b.png"):
        Image.new("RGB", (32, 32), (5, 6, 7)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    result = invoke(
        server,
        "--endpoint",
        "fal-ai/flux-pro/kontext/multi",
        *(arg for path in paths for arg in ("--input", f"image_urls={path}")),
        "--no-journal",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").iterdir())) == 1
