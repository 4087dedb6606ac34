"""The local runtime: moto server as the local AWS, and what plays Lambda's part around it."""
