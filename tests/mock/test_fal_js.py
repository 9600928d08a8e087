"""fal's official JavaScript client (``@fal-ai/client``, npm), unchanged, against the mock over a real socket:
``fal.storage.upload`` (initiate on the REST host, then the PUT), ``fal.subscribe`` with the uploaded URL as
``image_url``, and ``fal.queue.submit`` with a webhook that a Node receiver verifies with Node's own crypto
(ED25519 from the mock's JWKS, fal's message). fal-js is pointed at the mock the way its docs allow: the
``fetch`` option of ``fal.config`` (here a fetch that sends fal's hosts to the mock). Skipped, with the
reason, when node/npm are missing or npm cannot install the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kontext_contract.mock import FAL_HOSTS, MockConfig, MockServer

from .conftest import FAL_KEY

FAL_JS = "@fal-ai/client@1.10.1"
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "fal-js"

SCRIPT = r"""
import { fal } from "@fal-ai/client";
import { createServer } from "node:http";
import { createHash, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";

const [base, key, png] = process.argv.slice(2);
const hosts = JSON.parse(process.env.FAL_HOSTS);
const routed = (input, init) => {
  const url = new URL(typeof input === "string" ? input : input.url);
  const prefix = hosts[url.hostname];
  return fetch(prefix === undefined ? input : base + prefix + url.pathname + url.search, init);
};
fal.config({ credentials: key, fetch: routed });

const out = {};
const url = await fal.storage.upload(new Blob([readFileSync(png)], { type: "image/png" }));
out.uploaded = url;
const result = await fal.subscribe("fal-ai/flux-pro/kontext", { input: { prompt: "p", image_url: url }, logs: true });
out.size = [result.data.images[0].width, result.data.images[0].height];

const jwks = await (await routed("https://rest.fal.ai/.well-known/jwks.json")).json();
const verified = await new Promise((resolve) => {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const h = req.headers;
      const message = [h["x-fal-webhook-request-id"], h["x-fal-webhook-user-id"], h["x-fal-webhook-timestamp"],
        createHash("sha256").update(body).digest("hex")].join("\n");
      const ok = jwks.keys.some((jwk) =>
        verify(null, Buffer.from(message), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(h["x-fal-webhook-signature"], "hex")));
      const fresh = Math.abs(Date.now() / 1000 - Number(h["x-fal-webhook-timestamp"])) <= 300;
      res.writeHead(ok ? 200 : 401).end();
      server.close();
      resolve({ ok, fresh, status: JSON.parse(body).status });
    });
  });
  server.listen(0, "127.0.0.1", async () => {
    const hook = `http://127.0.0.1:${server.address().port}/hook`;
    await fal.queue.submit("fal-ai/flux-pro/kontext/text-to-image", { input: { prompt: "p" }, webhookUrl: hook });
  });
});
out.webhook = verified;
console.log(JSON.stringify(out));
"""


def _fal_js() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not found on PATH: fal-js cannot be run")
    if not (CACHE / "node_modules" / "@fal-ai" / "client").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(CACHE), FAL_JS],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install {FAL_JS} took more than 300 s")
        if done.returncode != 0:
            pytest.skip(f"npm install {FAL_JS} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return CACHE


def test_fal_js_uploads_subscribes_and_verifies_the_mocks_webhook(tmp_path: Path) -> None:
    from .test_storage import _png

    cache = _fal_js()
    script = cache / "run.mjs"
    script.write_text(SCRIPT)
    image = tmp_path / "fox.png"
    image.write_bytes(_png(300, 200))
    with MockServer(MockConfig(queue_delay=0.1, processing_delay=0.1)) as server:
        done = subprocess.run(
            ["node", str(script), server.base_url, FAL_KEY, str(image)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cache,
            env={"PATH": os.environ["PATH"], "FAL_HOSTS": json.dumps(dict(FAL_HOSTS))},
        )
        stats = server.state.stats()
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["uploaded"].startswith(server.base_url + "/_mock/storage/files/")
    assert out["size"] == [1248, 832]  # the uploaded 3:2 image's ratio
    assert out["webhook"] == {"ok": True, "fresh": True, "status": "OK"}
    assert stats["storage"]["uploaded"] == 1 and stats["webhooks"]["sent"] == 1
