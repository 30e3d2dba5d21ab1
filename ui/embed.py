"""`GET /embed`: how IT puts the chat into an intranet page, with this server's own address."""

from __future__ import annotations

from html import escape
from importlib.metadata import version

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from assistant.settings import Settings
from ui.door import Door
from ui.urls import app_address


def iframe_snippet(chat_url: str) -> str:
    """The <iframe> to paste into a page."""
    return (
        f'<iframe src="{chat_url}" title="IOM Assistant" width="100%" height="760"\n'
        '        style="border: 1px solid #d0d7de; border-radius: 8px;"\n'
        '        allow="clipboard-write" loading="lazy"></iframe>'
    )


def web_component_snippet(chat_url: str, gradio_version: str) -> str:
    """The Gradio web component (the page must load Gradio's script once)."""
    return (
        f'<script type="module" src="https://gradio.s3-us-west-2.amazonaws.com/{gradio_version}/gradio.js">'
        "</script>\n"
        f'<gradio-app src="{chat_url}" eager="true" container="true"></gradio-app>'
    )


def build_embed_router(settings: Settings, door: Door) -> APIRouter:
    """The embedding page."""
    router = APIRouter()

    @router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
    def embed(request: Request) -> HTMLResponse:
        """Copy-paste snippets for the intranet, and the chat embedded below them."""
        if not door.admits(request):
            raise HTTPException(401, "sign in to the chat first (or through the intranet proxy)")
        chat_url = app_address(request, door.from_trusted_proxy(request), settings.root_path)
        return HTMLResponse(embed_page(chat_url, settings))

    return router


def embed_page(chat_url: str, settings: Settings) -> str:
    """The HTML of /embed for a chat served at `chat_url`."""
    origin = chat_url.split("/", 3)
    origin_only = "/".join(origin[:3])
    ancestors = " ".join(settings.frame_ancestors) or "'self'"
    cors = ", ".join(settings.cors_origins) or "(none)"
    iframe = iframe_snippet(chat_url)
    component = web_component_snippet(chat_url, version("gradio"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Embed IOM Assistant</title>
<style>
 body {{ font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328;
        background: #f6f8fa; }}
 main {{ max-width: 1100px; margin: 0 auto; padding: 1.5rem; }}
 h1 {{ font-size: 1.4rem; margin: 0 0 .3rem; }} h2 {{ font-size: 1.1rem; margin: 1.6rem 0 .4rem; }}
 pre {{ background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem; overflow-x: auto;
       font-size: 13px; }}
 code {{ font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }}
 .note {{ color: #57606a; font-size: .9rem; }}
 button {{ font: inherit; font-size: .85rem; padding: .2rem .7rem; cursor: pointer; }}
</style></head>
<body><main>
<h1>Embed IOM Assistant in an intranet page</h1>
<p class="note">This server answers at <code>{escape(chat_url)}</code>.</p>

<h2>1. An iframe (simplest)</h2>
<pre><code id="iframe-snippet">{escape(iframe)}</code></pre>
<button type="button" data-copy="iframe-snippet">Copy</button>
<p class="note">The intranet page's origin must be allowed to frame the chat:
set <code>IOM_ASSISTANT_FRAME_ANCESTORS</code> (now: <code>{escape(ancestors)}</code>).</p>

<h2>2. Gradio's web component</h2>
<pre><code id="component-snippet">{escape(component)}</code></pre>
<button type="button" data-copy="component-snippet">Copy</button>
<p class="note">The page talks to this server directly, so its origin must be listed in
<code>IOM_ASSISTANT_CORS_ORIGINS</code> (now: <code>{escape(cors)}</code>). Where the intranet
cannot load scripts from the internet, serve <code>gradio.js</code> from your own web server.</p>

<h2>The chat, embedded</h2>
<iframe src="{escape(chat_url)}" title="IOM Assistant" width="100%" height="760"
        style="border: 1px solid #d0d7de; border-radius: 8px; background: #fff;"
        allow="clipboard-write"></iframe>
<p class="note">Origin of this server: <code>{escape(origin_only)}</code></p>
</main>
<script>
document.querySelectorAll("button[data-copy]").forEach(function (button) {{
  button.addEventListener("click", function () {{
    var text = document.getElementById(button.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () {{ button.textContent = "Copied"; }});
  }});
}});
</script>
</body></html>"""
