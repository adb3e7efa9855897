"""Web Push: people's browsers subscribed to hear that a job ended, and the notifications sent to them."""
