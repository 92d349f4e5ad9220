-- A family member's console account is one of the resident's contacts: their notification
-- preferences are that contact's (issue 6).
ALTER TABLE users ADD COLUMN contact_id bigint REFERENCES contacts(id);
