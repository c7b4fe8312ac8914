"""WeCom's callback encryption (the scheme of its WXBizMsgCrypt libraries, 加解密方案说明).

- AESKey = Base64_Decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = AESKey[:16]
  and PKCS#7 padding to 32-byte blocks.
- plaintext = 16 random bytes + msg_len (4 bytes, network order) + msg + receive id; the
  receive id of a self-built app is the corp id, and a message for another receiver is
  refused.
- msg_signature = SHA1 of token, timestamp, nonce and the Base64 ciphertext, sorted and
  joined, as lower-case hex.

Errors carry the official libraries' return codes (-40001 …) so a log line can be read
beside WeCom's own documentation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.errors import JiyaoError

#: PKCS#7 to 32-byte blocks, not AES's 16 (the scheme's own choice)
BLOCK_BITS = 256
_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{43}")
_HEADER = 16 + 4


class CryptoError(JiyaoError):
    """A callback could not be verified or decrypted; `code` is the official library's."""

    code = -40000

    def __init__(self, message: str) -> None:
        super().__init__(message)


class BadKeyError(CryptoError):
    """The EncodingAESKey is not 43 Base64 characters decoding to 32 bytes."""

    code = -40004


class SignatureError(CryptoError):
    """msg_signature does not match: the request did not come from WeCom (or was altered)."""

    code = -40001


class DecryptError(CryptoError):
    """The ciphertext is not Base64, not whole AES blocks, badly padded or truncated."""

    code = -40007


class ReceiverError(CryptoError):
    """The message decrypted but names another receiver (corp id) than ours."""

    code = -40005


@dataclass(frozen=True)
class Sealed:
    """An encrypted message with what signs it, as WeCom sends it and as a reply goes back."""

    ciphertext: str
    signature: str
    timestamp: str
    nonce: str


def decode_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AESKey of a 43-character EncodingAESKey."""
    if not _KEY_SHAPE.fullmatch(encoding_aes_key):
        raise BadKeyError("EncodingAESKey 应为 43 个字母或数字")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise BadKeyError("EncodingAESKey 不是有效的 Base64") from exc
    if len(key) != 32:
        raise BadKeyError("EncodingAESKey 解码后应为 32 字节")
    return key


def signature(token: str, timestamp: str, nonce: str, ciphertext: str) -> str:
    """msg_signature: SHA1 over the four values sorted and joined."""
    joined = "".join(sorted((token, timestamp, nonce, ciphertext)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 - WeCom's scheme


class MsgCrypt:
    """Verify, decrypt and encrypt the messages of one app (token, key, receive id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not token:
            raise BadKeyError("回调 Token 不能为空")
        self._token = token
        self._key = decode_key(encoding_aes_key)
        self._receive_id = receive_id.encode("utf-8")

    def __repr__(self) -> str:
        return f"MsgCrypt(receive_id={self._receive_id.decode()!r})"

    # ------------------------------------------------------------ signatures
    def sign(self, timestamp: str, nonce: str, ciphertext: str) -> str:
        return signature(self._token, timestamp, nonce, ciphertext)

    def check(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> None:
        """Raise SignatureError unless the signature is WeCom's for these values."""
        expected = self.sign(timestamp, nonce, ciphertext)
        if not hmac.compare_digest(expected, msg_signature.strip().lower()):
            raise SignatureError("回调签名不符（msg_signature 校验失败）")

    # ------------------------------------------------------------ the three operations
    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification (GET): the echostr plaintext to answer with, as it is."""
        self.check(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr).decode("utf-8")

    def open(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> bytes:
        """A POSTed message's `Encrypt` value: checked, decrypted, its receiver verified."""
        self.check(msg_signature, timestamp, nonce, ciphertext)
        return self.decrypt(ciphertext)

    def seal(self, plaintext: bytes, timestamp: str, nonce: str) -> Sealed:
        """Encrypt and sign a message (a passive reply, or a callback in tests)."""
        ciphertext = self.encrypt(plaintext)
        return Sealed(ciphertext, self.sign(timestamp, nonce, ciphertext), timestamp, nonce)

    def reply_xml(self, plaintext: bytes, timestamp: str, nonce: str) -> str:
        """The XML body of an encrypted passive reply."""
        s = self.seal(plaintext, timestamp, nonce)
        return (
            f"<xml><Encrypt><![CDATA[{s.ciphertext}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{s.signature}]]></MsgSignature>"
            f"<TimeStamp>{escape(s.timestamp)}</TimeStamp>"
            f"<Nonce><![CDATA[{s.nonce}]]></Nonce></xml>"
        )

    # ------------------------------------------------------------ AES
    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plaintext: bytes, *, random16: bytes | None = None) -> str:
        """Base64 of AES(random16 + len + plaintext + receive id); random unless given."""
        prefix = os.urandom(16) if random16 is None else random16
        if len(prefix) != 16:
            raise ValueError("random16 must be 16 bytes")
        body = prefix + struct.pack(">I", len(plaintext)) + plaintext + self._receive_id
        padder = padding.PKCS7(BLOCK_BITS).padder()
        padded = padder.update(body) + padder.finalize()
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(padded) + enc.finalize()).decode("ascii")

    def decrypt(self, ciphertext: str) -> bytes:
        """The message inside a Base64 ciphertext, after checking padding and receiver."""
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("密文不是有效的 Base64") from exc
        if not raw or len(raw) % 16:
            raise DecryptError("密文长度不是 AES 分组的整数倍")
        dec = self._cipher().decryptor()
        padded = dec.update(raw) + dec.finalize()
        unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
        try:
            body = unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise DecryptError("解密后填充无效（密钥不符或密文被改动）") from exc
        if len(body) < _HEADER:
            raise DecryptError("解密后内容过短")
        (length,) = struct.unpack(">I", body[16:_HEADER])
        if _HEADER + length > len(body):
            raise DecryptError("解密后长度字段超出内容")
        message, receiver = body[_HEADER : _HEADER + length], body[_HEADER + length :]
        if not hmac.compare_digest(receiver, self._receive_id):
            raise ReceiverError("消息的接收方（CorpID）与本应用不符")
        return message
