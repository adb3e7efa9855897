"""Generation: queued jobs (story, image, describe, translate) run by workers on model backends."""
