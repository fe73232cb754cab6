"""The randomized fault schedule and its whole-history checker (issue 9, "the checker").

``run.run(orders, seed)`` drives concurrent customers, staff, SQS deliveries, timers and
the sweeper through the real handlers on the serialised moto server while ``faults``
injects failures at every adapter call, then lets the system quiesce and applies every
rule of ``checker``. ``python -m tests.chaos.run`` (``make chaos``) prints the figures;
``test_chaos`` runs a short schedule in ``make test``.
"""
