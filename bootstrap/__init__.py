"""The composition: the one place that builds what the app, the command line and the tests run on.

bootstrap/build.py      the packs, storage (waiting for Azure at start-up), the core's service and
                        the sweep's scheduler
bootstrap/dispatch.py   the loops that send the outbox and sweep for nudges, and what is done
                        with a message that can never be delivered (the core's policy)
app.py builds the HTTP app from these; admin/ the command line.
"""
