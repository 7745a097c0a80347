"""Residents' subscriptions: phone numbers by hamlet, with consent, reached over Zalo ZNS and SMS."""
