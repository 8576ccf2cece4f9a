"""Showing text that came from users, files or the database inside Streamlit's Markdown."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=\"'&])")


def plain(text: object) -> str:
    """Text made safe for Streamlit's Markdown (titles, captions, messages, widget
    labels): every ASCII punctuation mark is backslash-escaped, so a link, an image,
    HTML or a color directive shows as the characters typed, never as markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
