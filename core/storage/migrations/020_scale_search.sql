-- /find of a two-character word (issue 18 item 5): the trigram index holds every
-- occurrence followed by one more character of its column (as a term starting with the
-- word, listed by item_text_terms); the ends of each column hold the rest. Both are
-- lower-cased as LIKE folds case (ASCII only), as the trigram index folds it.
CREATE VIRTUAL TABLE item_text_terms USING fts5vocab (item_text, 'instance');

CREATE TABLE item_text_ends (
    item_id   INTEGER PRIMARY KEY,
    title_end TEXT    NOT NULL,
    body_end  TEXT    NOT NULL
);
INSERT INTO item_text_ends (item_id, title_end, body_end)
    SELECT rowid, lower(substr(title, -2)), lower(substr(body, -2)) FROM item_text;
CREATE INDEX item_text_ends_title ON item_text_ends (title_end);
CREATE INDEX item_text_ends_body ON item_text_ends (body_end);

-- the search row's ends follow every new item, as its search row does (items_after_insert)
CREATE TRIGGER items_text_ends AFTER INSERT ON items
BEGIN
    INSERT INTO item_text_ends (item_id, title_end, body_end)
    VALUES (NEW.id, lower(substr(COALESCE(NEW.title, ''), -2)), '');
END;
