"""The 政府信息公开 catalogue as a static site: what may be published, the pages, their HTML."""
