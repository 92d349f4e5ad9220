-- Each page's own key for the "I'm on it" links its messages carry (alerts/oncall.py,
-- console/intake.py): the link sent to each on-call address is signed with it, so a link takes
-- only its own page, and only as the address it was sent to. Never shown by the API. Pages
-- opened before have none, and their messages no link.
ALTER TABLE intake_pages ADD COLUMN take_key bytea;
