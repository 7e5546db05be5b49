"""A one-page PDF of an invoice, for ``GET /invoice/{id}/pdf``."""

from __future__ import annotations

from typing import Any

from .company import Company


def _escape(text: str) -> str:
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return cleaned.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def invoice_pdf(invoice: dict[str, Any], company: Company) -> bytes:
    """A small, valid PDF listing the invoice's number, customer, lines and totals."""
    info = company.get("CompanyInfo", "1") or {}
    rows = [
        str(info.get("CompanyName", "")),
        f"Invoice {invoice.get('DocNumber', invoice.get('Id', ''))}",
        f"Customer: {(invoice.get('CustomerRef') or {}).get('name', '')}",
        f"Date: {invoice.get('TxnDate', '')}   Due: {invoice.get('DueDate', '')}",
        "",
    ]
    for line in invoice.get("Line", []):
        if line.get("DetailType") == "SubTotalLineDetail":
            continue
        label = line.get("Description") or line.get("DetailType", "")
        rows.append(f"{label}: {line.get('Amount', '')}")
    rows += [
        "",
        f"Total: {invoice.get('TotalAmt', 0)}",
        f"Balance due: {invoice.get('Balance', 0)}",
    ]
    text = ["BT", "/F1 11 Tf", "50 780 Td", "14 TL"]
    text += [f"({_escape(row)}) '" for row in rows]
    text.append("ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
