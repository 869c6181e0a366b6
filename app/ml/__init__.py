"""The NumPy core: surfaces, optimizers, schedules and run generators. Imports numpy only."""
