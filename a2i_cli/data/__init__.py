"""data: the scene dataset schema, reading MFCC CSVs, features from audio, splits, prepare, writing datasets, demo data."""
