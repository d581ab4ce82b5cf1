"""The `helpdesk` operator CLI."""
