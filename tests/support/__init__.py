"""What the tests and the benchmarks build on, in one place and outside the shipped packages.

Lambda events and contexts for the processor (`processor`), the in-memory repository (`memory_store`),
reproducible traffic (`sample_traffic`), a fault-injecting proxy in front of moto server (`fault_proxy`),
the local event source in a process of its own, to be killed mid-batch (`poller`),
queues and tables on a bare moto server (`moto_resources`, `reporter_tables`), weeks of records for the
reporter (`reporter_week`) and the canned events of tests/events (`events`).
"""
