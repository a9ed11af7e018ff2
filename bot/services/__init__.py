"""Domain services. They know nothing of aiogram: handlers call them with plain values."""
