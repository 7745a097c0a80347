"""Bulletins: summaries of live data for communicators (text vi/en, a quotable sentence, pictures, a radio script and
its audio), drafted, approved by an officer and published to the portal, feeds, Facebook and Zalo."""
