DROP INDEX notices_outgoing;
