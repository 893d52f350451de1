"""The download headers the gateway builds: no name can break out of Content-Disposition."""

from __future__ import annotations

import pytest

from gateway.downloads import content_disposition


@pytest.mark.parametrize(
    "name, plain, exact",
    [
        ("domanda.pdf", "domanda.pdf", "domanda.pdf"),
        ("già visto.pdf", "gi_ visto.pdf", "gi%C3%A0%20visto.pdf"),
        ('a"; filename="x.exe', "a__ filename__x.exe", "a%22%3B%20filename%3D%22x.exe"),
        ("riga\r\nSet-Cookie: x", "riga__Set-Cookie_ x", "riga%0D%0ASet-Cookie%3A%20x"),
        ("", "allegato", "allegato"),
    ],
)
def test_content_disposition_is_an_attachment_with_a_plain_and_an_exact_name(name, plain, exact):
    assert content_disposition(name) == f"attachment; filename=\"{plain}\"; filename*=UTF-8''{exact}"
