"""企业微信 / 政务微信 adapter: a self-built app (自建应用) speaking WeCom's server API.

- `crypto`: the callback encryption (WXBizMsgCrypt): signatures, AES-256-CBC, URL check.
- `client`: the async API client (gettoken, message/send, media/upload, template cards),
  pacing each member under WeCom's silent per-member limits.
- `callback`: the aiohttp callback server: verifies, decrypts, de-duplicates and hands
  typed events to a handler, answering WeCom at once.

政务微信 is the same API on the office's own servers: only `[wecom] base_url` differs.
"""
