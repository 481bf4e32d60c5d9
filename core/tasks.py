"""Every task Herald runs, by name, and the queue each one goes to: the one table of both.

Enqueuers in ``subscribers`` and ``publisher`` name a task by its :class:`TaskName` member
(nothing imports ``worker``); ``worker.tasks`` declares one Celery task per member; the
Celery app routes each by :data:`QUEUE_OF`. The names and queues are part of the deployed
system (messages in flight, a compose file's ``-Q`` options): never rename one.
"""

from __future__ import annotations

from enum import StrEnum

BULK_QUEUE = "bulk"
"""Campaign work: planning, batches, replays, imports. Large and patient."""
TRANSACTIONAL_QUEUE = "transactional"
"""Mail a person is waiting for (confirmations, test sends) and outgoing webhooks."""
CONTROL_QUEUE = "control"
"""The scheduler's short periodic work, kept apart so a busy bulk queue never delays it."""
ALL_QUEUES = (BULK_QUEUE, TRANSACTIONAL_QUEUE, CONTROL_QUEUE)


class TaskName(StrEnum):
    """The name of every task, as it travels in broker messages."""

    PLAN = "herald.campaigns.plan"
    ENQUEUE = "herald.campaigns.enqueue"
    SEND_BATCH = "herald.campaigns.send_batch"
    REPLAY_ATTEMPT = "herald.campaigns.replay_attempt"
    IMPORT_SUBSCRIBERS = "herald.campaigns.import_subscribers"
    SEND_CONFIRMATIONS = "herald.transactional.send_confirmations"
    SEND_WELCOMES = "herald.transactional.send_welcomes"
    TEST_SEND = "herald.transactional.test_send"
    WEBHOOK_DELIVERY = "herald.transactional.webhook_delivery"
    SCHEDULER_TICK = "herald.scheduler.tick"
    STATS_TICK = "herald.scheduler.stats"
    HOUSEKEEPING = "herald.scheduler.housekeeping"


QUEUE_OF: dict[TaskName, str] = {
    TaskName.PLAN: BULK_QUEUE,
    TaskName.ENQUEUE: BULK_QUEUE,
    TaskName.SEND_BATCH: BULK_QUEUE,
    TaskName.REPLAY_ATTEMPT: BULK_QUEUE,
    # On bulk although it is no campaign work: an import of a million rows must not hold
    # up a confirmation someone is waiting for.
    TaskName.IMPORT_SUBSCRIBERS: BULK_QUEUE,
    TaskName.SEND_CONFIRMATIONS: TRANSACTIONAL_QUEUE,
    TaskName.SEND_WELCOMES: TRANSACTIONAL_QUEUE,
    TaskName.TEST_SEND: TRANSACTIONAL_QUEUE,
    TaskName.WEBHOOK_DELIVERY: TRANSACTIONAL_QUEUE,
    TaskName.SCHEDULER_TICK: CONTROL_QUEUE,
    TaskName.STATS_TICK: CONTROL_QUEUE,
    TaskName.HOUSEKEEPING: CONTROL_QUEUE,
}


class UnknownTask(LookupError):
    """A task name outside :class:`TaskName`: a typo that would otherwise never run."""


def task_name(name: str) -> TaskName:
    """``name`` as a :class:`TaskName`, or :class:`UnknownTask`."""
    try:
        return TaskName(name)
    except ValueError:
        raise UnknownTask(f"no task is named {name!r}") from None


def queue_of(name: str) -> str:
    """The queue of the task ``name``, or :class:`UnknownTask`."""
    return QUEUE_OF[task_name(name)]
