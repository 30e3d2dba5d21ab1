"""How the chat looks and behaves in the browser: the Gradio theme, our CSS, the page script.

Contrast is settled here, once, for every element that uses the theme's colours (WCAG 2.1 AA:
4.5:1 for text): subdued text, links and the primary button are darker than Gradio's `Soft`
defaults, whose subdued grey on the page's off-white is 2.45:1. Focus is always visible.
"""

from __future__ import annotations

import gradio as gr


def chat_theme() -> gr.themes.Base:
    """Gradio's `Soft` theme in IOM blue, with text that meets WCAG AA contrast."""
    return gr.themes.Soft(
        primary_hue="blue",
        secondary_hue="blue",
        neutral_hue="slate",
        font=("system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"),
        font_mono=("ui-monospace", "Consolas", "monospace"),
    ).set(
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_300",
        input_placeholder_color="*neutral_500",
        input_placeholder_color_dark="*neutral_400",
        link_text_color="*primary_700",
        link_text_color_visited="*primary_700",
        link_text_color_hover="*primary_800",
        link_text_color_active="*primary_800",
        link_text_color_dark="*primary_300",
        link_text_color_visited_dark="*primary_300",
        link_text_color_hover_dark="*primary_200",
        link_text_color_active_dark="*primary_200",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        # The language switch's chosen option: white on blue 700, not Soft's blue 500 (3.67:1).
        checkbox_label_background_fill_selected="*primary_700",
        checkbox_label_background_fill_selected_dark="*primary_700",
        checkbox_label_text_color_selected="white",
        checkbox_label_text_color_selected_dark="white",
    )


CSS = """
:root { --iom-blue: #0033a0; }
.dark { --iom-blue: #93c5fd; }
.gradio-container { max-width: 1280px !important; margin: 0 auto; }
:is(a, button, summary, textarea, input, [tabindex]):focus-visible {
  outline: 3px solid #f2b705 !important; outline-offset: 2px;
  box-shadow: 0 0 0 5px var(--iom-blue) !important; }
.iom-sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
#iom-header h1 { font-size: 1.35rem; margin: 0; }
#iom-header p { margin: 0.15rem 0 0; color: var(--body-text-color-subdued); font-size: 0.9rem; }
#iom-chat a[href^="#iom-src-"] { text-decoration: none; font-weight: 600; font-size: 0.8em;
  vertical-align: super; padding: 0 1px; color: var(--link-text-color); }
/* Gradio draws messages at 0.8 opacity, which takes links and subdued text under 4.5:1. */
#iom-chat .message-wrap .prose.chatbot.md { opacity: 1; }
#iom-chat em { color: var(--body-text-color-subdued); }
#iom-chat .placeholder { padding: 0 1.5rem; color: var(--body-text-color-subdued); }
#iom-chat button.example { border: 1px solid var(--border-color-primary); border-radius: 10px;
  background: var(--background-fill-secondary); text-align: left; }
#iom-chat button.example:hover { border-color: var(--iom-blue); background: var(--background-fill-primary); }
#iom-feedback-row { align-items: end; }
#iom-status { min-height: 1.4em; font-size: 0.9rem; color: var(--body-text-color-subdued);
  padding: 0 0.25rem; }
#iom-status .iom-alert { color: var(--error-text-color); }
.iom-sources { font-size: 0.9rem; line-height: 1.45; max-height: 78vh; overflow-y: auto;
  padding-right: 4px; }
.iom-sources h2 { margin: 0 0 0.5rem; font-size: 1rem; }
.iom-sources.iom-empty p { color: var(--body-text-color-subdued); }
.iom-turn { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.4rem 0.6rem;
  margin-bottom: 0.6rem; background: var(--block-background-fill); }
.iom-turn > summary { cursor: pointer; font-weight: 600; color: var(--body-text-color); }
.iom-turn:not([open]) > summary { color: var(--body-text-color-subdued); font-weight: 500; }
.iom-src-list { padding-left: 0; margin: 0.4rem 0 0; list-style: none; }
.iom-src { position: relative; padding: 0.45rem 0.5rem; margin: 0.35rem 0; border-radius: 6px;
  border-left: 3px solid var(--iom-blue); background: var(--background-fill-secondary);
  transition: box-shadow 0.3s; scroll-margin: 12px; }
.iom-src:target, .iom-src.iom-flash { box-shadow: 0 0 0 2px #f2b705; }
.iom-src-n { font-weight: 700; color: var(--iom-blue); }
.iom-src-title { font-weight: 600; color: var(--iom-blue) !important; text-decoration: none !important; }
.iom-src-title:hover { text-decoration: underline !important; }
.iom-src-meta { font-size: 0.78rem; color: var(--body-text-color-subdued); word-break: break-all; }
.iom-passage { margin: 0.35rem 0 0; padding: 0.1rem 0.5rem;
  border-left: 2px solid var(--border-color-primary); white-space: pre-wrap; font-size: 0.85rem;
  color: var(--body-text-color); max-height: 16rem; overflow-y: auto; }
.iom-passage mark { background: #fde68a; color: #111; padding: 0 1px; border-radius: 2px; }
.iom-back:not(:focus) { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); }
.iom-back:focus { display: inline-block; margin-top: 0.3rem; font-size: 0.85rem; }
.iom-closest { border-left-color: #64748b; }
.iom-refusal-note { margin: 0.4rem 0; padding: 0.4rem 0.6rem; border-radius: 6px; font-size: 0.85rem;
  background: var(--background-fill-secondary); color: var(--body-text-color-subdued);
  border: 1px dashed #64748b; }
.iom-notices { margin: 0.3rem 0; padding-left: 1rem; font-size: 0.75rem;
  color: var(--body-text-color-subdued); }
#iom-history-heading h2 { margin: 0; font-size: 1rem; }
#iom-history > .wrap:not([data-testid]) { flex-direction: column; flex-wrap: nowrap; max-height: 50vh;
  overflow-y: auto; }
#iom-history label { font-size: 0.85rem; line-height: 1.3; }
#iom-export-link a, .iom-permalink { font-size: 0.85rem; }
.iom-permalink { margin: 0.25rem 0; }
.iom-confirm-text { margin: 0.2rem 0; font-size: 0.9rem; }
@media (max-width: 640px) {
  #iom-history > .wrap:not([data-testid]) { max-height: 30vh; }
  .iom-sources { max-height: none; overflow-y: visible; }
  #iom-header h1 { font-size: 1.15rem; }
}
"""

# Citation links open the folded answer they point into, move the focus to the quoted passage,
# scroll its highlighted quote into view and flash its entry; "Back to the answer" returns the
# focus to the link followed. The status line under the question is the page's one live region:
# it speaks each answer once, complete.
# Two mends of Gradio 6's markup: a citation's title becomes its accessible name (the chat's
# sanitiser keeps `title`, not `aria-label`), and the example buttons lose role="list" (a list
# may hold only list items). The chat stays hidden until it speaks its reader's language (the
# language switch's script marks the page, `ui.chat.page_language_js`), so its first paint is not
# English before French; should that never come, it shows itself after 4 s.
HEAD = """
<style>
html:not([data-iom-language]) .gradio-container { visibility: hidden; animation: iom-reveal 0s 4s forwards; }
@keyframes iom-reveal { to { visibility: visible; } }
</style>
<script>
(function () {
  var followed = null;
  function follow(link, event) {
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    var folded = target.closest("details");
    if (folded) folded.open = true;
    followed = link;
    var passage = target.querySelector(".iom-passage") || target;
    (target.querySelector("mark") || target).scrollIntoView({behavior: "smooth", block: "nearest"});
    passage.focus({preventScroll: true});
    target.classList.add("iom-flash");
    setTimeout(function () { target.classList.remove("iom-flash"); }, 2500);
  }
  function back(event) {
    event.preventDefault();
    var answers = document.querySelectorAll("#iom-chat [data-testid='bot']");
    var to = followed && followed.isConnected ? followed : answers[answers.length - 1];
    if (to) { if (!to.matches("a, button, [tabindex]")) to.setAttribute("tabindex", "-1"); to.focus(); }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#iom-src-"]');
    if (link) return follow(link, event);
    if (event.target.closest && event.target.closest("a.iom-back")) back(event);
  }, true);
  function mend() {
    var status = document.getElementById("iom-status");
    if (status && !status.hasAttribute("aria-live")) {
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      status.setAttribute("aria-atomic", "true");
    }
    document.querySelectorAll('#iom-chat a[href^="#iom-src-"][title]').forEach(function (link) {
      if (link.getAttribute("aria-label") !== link.title) link.setAttribute("aria-label", link.title);
    });
    document.querySelectorAll('#iom-chat .examples[role="list"]').forEach(function (list) {
      list.removeAttribute("role");
    });
  }
  var pending = false;
  new MutationObserver(function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; mend(); });
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>
"""
