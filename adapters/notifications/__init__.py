"""Notification channels (webhook, e-mail, STOMP topic), the rules file and the evaluator's
read positions."""
