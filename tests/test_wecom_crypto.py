"""WeCom's callback encryption against WeCom's own published sample vectors.

The vectors (token, EncodingAESKey, corp id, the URL-verification request and an encrypted
text message with its msg_signature) are those of WeCom's Python callback sample,
``callback/Sample.py`` in github.com/sbzhu/weworkapi_python (commit 27220fbe9d52…, the
WXBizMsgCrypt sample maintained by the 企业微信 team and linked from its 加解密库下载
page). The sample's own reply plaintext (``sRespData``) is what its ciphertext decrypts
to, which pins the message layout as well as the key and the signature.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wecom.callback import parse_xml
from bot.wecom.crypto import (
    BadKeyError,
    DecryptError,
    MsgCrypt,
    ReceiverError,
    SignatureError,
    decode_key,
    signature,
)

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_ID = "ww1436e0e65a779aee"

VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVz"
               "EtpbhnFyq6SVHyA==",
}

MSG_SIGNATURE = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
MSG_TIMESTAMP = "1476422779"
MSG_NONCE = "1597212914"
MSG_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3Ny"
    "eTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sq"
    "fde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC"
    "2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HK"
    "Yg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
MSG_XML = (
    f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{MSG_ENCRYPT}]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
MSG_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)


@pytest.fixture
def crypt() -> MsgCrypt:
    return MsgCrypt(TOKEN, AES_KEY, CORP_ID)


def test_url_verification_vector(crypt: MsgCrypt) -> None:
    assert crypt.verify_url(**VERIFY) == "1288432023552776189"


def test_message_vector_signature_and_plaintext(crypt: MsgCrypt) -> None:
    assert signature(TOKEN, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT) == MSG_SIGNATURE
    envelope = parse_xml(MSG_XML)
    assert envelope["AgentID"] == "1000002"
    plain = crypt.open(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, envelope["Encrypt"])
    assert plain.decode("utf-8") == MSG_PLAIN
    fields = parse_xml(plain)
    assert fields["FromUserName"] == "ChenJiaShun"
    assert fields["Content"] == "你好"


def test_encrypt_reproduces_the_official_ciphertext(crypt: MsgCrypt) -> None:
    """With the sample's 16 random bytes (its first plaintext block, read here with a plain
    AES-CBC decryptor), our encryption yields WeCom's ciphertext byte for byte."""
    key = base64.b64decode(AES_KEY + "=")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    random16 = (dec.update(base64.b64decode(MSG_ENCRYPT)) + dec.finalize())[:16]
    again = crypt.encrypt(MSG_PLAIN.encode("utf-8"), random16=random16)
    assert again == MSG_ENCRYPT
    assert len(base64.b64decode(again)) % 32 == 0  # PKCS#7 to 32-byte blocks


def test_seal_and_open_round_trip(crypt: MsgCrypt) -> None:
    text = "<xml><Content>请阅：关于防汛工作的通知</Content></xml>".encode()
    sealed = crypt.seal(text, "1700000000", "abc123")
    assert crypt.open(sealed.signature, "1700000000", "abc123", sealed.ciphertext) == text
    # random prefix: the same message never encrypts twice alike
    assert crypt.seal(text, "1700000000", "abc123").ciphertext != sealed.ciphertext
    reply = parse_xml(crypt.reply_xml(text, "1700000000", "abc123"))
    assert crypt.open(reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"],
                      reply["Encrypt"]) == text


@pytest.mark.parametrize("field", ["msg_signature", "timestamp", "nonce"])
def test_altered_signed_values_are_refused(crypt: MsgCrypt, field: str) -> None:
    forged = dict(VERIFY)
    forged[field] = forged[field][:-1] + ("0" if forged[field][-1] != "0" else "1")
    with pytest.raises(SignatureError):
        crypt.verify_url(**forged)


def test_wrong_token_is_refused() -> None:
    with pytest.raises(SignatureError):
        MsgCrypt("another-token", AES_KEY, CORP_ID).verify_url(**VERIFY)


def test_message_for_another_corp_is_refused() -> None:
    other = MsgCrypt(TOKEN, AES_KEY, "ww0000000000000000")
    with pytest.raises(ReceiverError):
        other.open(MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT)


def test_ciphertext_under_another_key_is_refused(crypt: MsgCrypt) -> None:
    other = MsgCrypt(TOKEN, "A" * 42 + "E", CORP_ID)
    sealed = other.seal(b"<xml/>", "1", "2")
    with pytest.raises((DecryptError, ReceiverError)):
        crypt.open(sealed.signature, "1", "2", sealed.ciphertext)


@pytest.mark.parametrize("ciphertext", ["not base64!", "", base64.b64encode(b"x" * 15).decode()])
def test_malformed_ciphertext_is_refused(crypt: MsgCrypt, ciphertext: str) -> None:
    with pytest.raises(DecryptError):
        crypt.decrypt(ciphertext)


@pytest.mark.parametrize("key", ["short", AES_KEY + "x", AES_KEY[:-1] + "!"])
def test_bad_encoding_aes_key_is_refused(key: str) -> None:
    with pytest.raises(BadKeyError):
        decode_key(key)


def test_repr_shows_no_secret(crypt: MsgCrypt) -> None:
    assert TOKEN not in repr(crypt)
    assert AES_KEY not in repr(crypt)
