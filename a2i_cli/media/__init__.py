"""media: decoding audio and video, building datasets from media (extract), stills and videos from a soundtrack."""
