"""`GET /embed`: how IT puts the chat into an intranet page, with this server's own address.

The page speaks the language of `?lang=` when it is shipped, else the browser's (Accept-Language).
"""

from __future__ import annotations

import json
from html import escape
from importlib.metadata import version

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from assistant.settings import Settings
from ui.door import Door
from ui.i18n import Messages, negotiate
from ui.urls import app_address


def iframe_snippet(chat_url: str, title: str) -> str:
    """The <iframe> to paste into a page (`title` names the frame for screen readers)."""
    return (
        f'<iframe src="{chat_url}" title="{escape(title)}" width="100%" height="760"\n'
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
    def embed(request: Request, lang: str | None = None) -> HTMLResponse:
        """Copy-paste snippets for the intranet, and the chat embedded below them."""
        if not door.admits(request):
            raise HTTPException(401, "sign in to the chat first (or through the intranet proxy)")
        chat_url = app_address(request, door.from_trusted_proxy(request), settings.root_path)
        say = Messages(negotiate(request.headers.get("accept-language"), lang))
        return HTMLResponse(embed_page(chat_url, settings, say), headers={"Vary": "Accept-Language"})

    return router


def _sentence(say: Messages, key: str, **code: str) -> str:
    """Message `key` as HTML, each of its fields filled with `code` shown as code."""
    return escape(say(key)).format(**{name: f"<code>{escape(value)}</code>" for name, value in code.items()})


def embed_page(chat_url: str, settings: Settings, say: Messages) -> str:
    """The HTML of /embed for a chat served at `chat_url`, in `say`'s language."""
    origin = chat_url.split("/", 3)
    origin_only = "/".join(origin[:3])
    ancestors = " ".join(settings.frame_ancestors) or "'self'"
    cors = ", ".join(settings.cors_origins) or say("embed.none")
    iframe = iframe_snippet(chat_url, say("app.title"))
    component = web_component_snippet(chat_url, version("gradio"))
    copy, copied = escape(say("embed.copy")), json.dumps(say("embed.copied"))
    frame_note = _sentence(
        say, "embed.iframe_note", variable="IOM_ASSISTANT_FRAME_ANCESTORS", value=ancestors
    )
    cors_note = _sentence(
        say, "embed.component_note", variable="IOM_ASSISTANT_CORS_ORIGINS", value=cors, script="gradio.js"
    )
    return f"""<!doctype html>
<html lang="{say.code}" dir="{say.direction}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(say("embed.title"))}</title>
<style>
 body {{ font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328;
        background: #f6f8fa; }}
 main {{ max-width: 1100px; margin: 0 auto; padding: 1.5rem; }}
 h1 {{ font-size: 1.4rem; margin: 0 0 .3rem; }} h2 {{ font-size: 1.1rem; margin: 1.6rem 0 .4rem; }}
 pre {{ background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem; overflow-x: auto;
       font-size: 13px; direction: ltr; text-align: left; }}
 code {{ font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }}
 .note {{ color: #57606a; font-size: .9rem; }}
 button {{ font: inherit; font-size: .85rem; padding: .2rem .7rem; cursor: pointer; }}
</style></head>
<body><main>
<h1>{escape(say("embed.heading"))}</h1>
<p class="note">{_sentence(say, "embed.address", address=chat_url)}</p>

<h2>{escape(say("embed.iframe_heading"))}</h2>
<pre><code id="iframe-snippet">{escape(iframe)}</code></pre>
<button type="button" data-copy="iframe-snippet">{copy}</button>
<p class="note">{frame_note}</p>

<h2>{escape(say("embed.component_heading"))}</h2>
<pre><code id="component-snippet">{escape(component)}</code></pre>
<button type="button" data-copy="component-snippet">{copy}</button>
<p class="note">{cors_note}</p>

<h2>{escape(say("embed.preview_heading"))}</h2>
<iframe src="{escape(chat_url)}" title="{escape(say("app.title"))}" width="100%" height="760"
        style="border: 1px solid #d0d7de; border-radius: 8px; background: #fff;"
        allow="clipboard-write"></iframe>
<p class="note">{_sentence(say, "embed.origin", origin=origin_only)}</p>
</main>
<script>
document.querySelectorAll("button[data-copy]").forEach(function (button) {{
  button.addEventListener("click", function () {{
    var text = document.getElementById(button.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () {{ button.textContent = {copied}; }});
  }});
}});
</script>
</body></html>"""
