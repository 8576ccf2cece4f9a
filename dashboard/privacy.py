"""Masking of petitioners' personal data (domain.md §8): shown masked by default."""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """张三丰 -> 张**; keeps the surname only."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_no(id_no: str | None) -> str:
    """An ID number keeps its first 3 and last 2 characters."""
    if not id_no:
        return ""
    text = id_no.strip()
    if len(text) <= 5:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 5) + text[-2:]
