-- What OCR read of an attachment (issue 13): NULL when its text (if any) came from a text
-- layer; else JSON {"pages": [{"page": 1, "confidence": 0.97, "doubtful": [["康府〔2025〕17号",
-- 0.87]]}]}: each page OCR read, its mean confidence and the fragments read below the
-- threshold. Never set for a sealed item (never read) or a part whose text is withheld.
ALTER TABLE attachments ADD COLUMN ocr TEXT;
