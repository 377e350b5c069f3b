-- Outgoing webhooks (issue 31). A bot's notices are not for web push: `push_state` 2 marks
-- one for its outgoing webhook until a server's worker claims it (then 3), so that only one
-- server delivers each. This index keeps the worker's look for them cheap.
CREATE INDEX notices_outgoing ON notices (id) WHERE push_state = 2;
