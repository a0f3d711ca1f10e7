"""A real browser upload with a direct-upload token: the customer's backend mints the token
with its key; stock tus-js-client in headless Chromium (a page on another origin, listed in
VODGATE_CORS_ORIGINS) uploads with it, refreshing it on the way, and never sees the key. A
page on an origin not listed cannot."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.conftest import Gateway
from tests.e2e.test_review_page import CHROMIUM
from tests.helpers import LICENCE_META

TUS_BUNDLE = Path(__file__).parent / "js" / "node_modules" / "tus-js-client" / "dist" / "tus.js"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><script>{bundle}</script></head>
<body><p>upload page of a customer's web app</p></body></html>"""

UPLOAD = """async ({endpoint, refreshUrl, token, bytes}) => {
  let current = token, refreshes = 0;
  const data = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes.charCodeAt(i);
  const file = new Blob([data], {type: "video/mp4"});
  return await new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint,
      chunkSize: 256 * 1024,
      metadata: {filename: "phone.mp4"},
      retryDelays: [],
      onBeforeRequest: async (req) => {
        if (req.getMethod() === "PATCH" && refreshes === 0) {
          const answer = await fetch(refreshUrl, {
            method: "POST", headers: {Authorization: "Bearer " + current}});
          if (!answer.ok) throw new Error("refresh failed: " + answer.status);
          current = (await answer.json()).token;
          refreshes += 1;
        }
        req.setHeader("Authorization", "Bearer " + current);
      },
      onError: (error) => reject(String(error)),
      onSuccess: () => resolve({url: upload.url, refreshes}),
    });
    upload.start();
  });
}"""


class CustomerApp:
    """The customer's web page, served from another origin than the gateway (another port
    on loopback: Chromium keeps pages from public addresses off local ones)."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CustomerApp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _mint(gateway: Gateway, size: int) -> str:
    request = urllib.request.Request(
        f"{gateway.url}/v1/upload-tokens",
        method="POST",
        data=json.dumps({"max_size": size, "metadata": LICENCE_META}).encode(),
        headers={"Authorization": f"Bearer {gateway.api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["token"])


# What a page on an origin the gateway does not list gets: the browser hides the answer.
REFUSED = """async ({refreshUrl, token}) => {
  try {
    await fetch(refreshUrl, {method: "POST", headers: {Authorization: "Bearer " + token}});
    return "answered";
  } catch (error) {
    return "blocked";
  }
}"""


def test_tus_js_client_in_chromium_uploads_with_a_token(gateway: Gateway) -> None:
    data = os.urandom(1024 * 1024 + 17)
    page_html = PAGE.format(bundle=TUS_BUNDLE.read_text())
    with (
        CustomerApp(page_html) as app,
        CustomerApp(page_html) as stranger,
        sync_playwright() as playwright,
    ):
        gateway.stop()  # the customer's page is its one allowed origin
        gateway.env["VODGATE_CORS_ORIGINS"] = json.dumps([app.origin])
        gateway.start()
        token = _mint(gateway, len(data))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            elsewhere = browser.new_page()
            elsewhere.goto(f"{stranger.origin}/upload")
            refresh_url = f"{gateway.url}/v1/upload-tokens/refresh"
            blocked = elsewhere.evaluate(REFUSED, {"refreshUrl": refresh_url, "token": token})
            page = browser.new_page()
            page.goto(f"{app.origin}/upload")
            result = page.evaluate(
                UPLOAD,
                {
                    "endpoint": f"{gateway.url}/files/",
                    "refreshUrl": refresh_url,
                    "token": token,
                    "bytes": data.decode("latin-1"),
                },
            )
        finally:
            browser.close()
    assert blocked == "blocked"
    assert result["refreshes"] == 1
    upload_id = result["url"].rstrip("/").rsplit("/", 1)[-1]
    assert hashlib.sha256(gateway.staged(upload_id)).hexdigest() == hashlib.sha256(data).hexdigest()
    status = gateway.status(upload_id)  # the tenant's key sees it as its own upload
    assert status["state"] == "received"
    assert status["metadata"]["licence_number"] == LICENCE_META["licence_number"]
