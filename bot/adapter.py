"""botbuilder's CloudAdapter, with turn contexts that do not deep-copy what they send.

`TurnContext.send_activities` deep-copies every activity before it fills in the conversation
reference (conversation, sender, recipient, service URL, the activity replied to) and checks
its type and input hint: a case card is a deep tree of dicts, and copying it was a fifth of a
card action's CPU. Only the activity's own attributes are filled in, so a shallow copy leaves
the caller's activity (and everything it points to) just as untouched. The send handlers run
without botbuilder's self-referring closure, so the context and what it sent are freed when the
turn ends. Everything else is botbuilder's: the same handlers, the same adapter, the same order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from copy import copy
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, DeliveryModes, InputHints, ResourceResponse


class LeanTurnContext(TurnContext):  # type: ignore[misc]
    async def send_activities(self, activities: list[Activity]) -> list[ResourceResponse]:
        reference = TurnContext.get_conversation_reference(self.activity)
        sent_non_trace = False
        output = []
        for activity in activities:
            outgoing = TurnContext.apply_conversation_reference(copy(activity), reference)
            if not getattr(outgoing, "type", None):
                outgoing.type = ActivityTypes.message
            if outgoing.type != ActivityTypes.trace:
                sent_non_trace = True
            if not outgoing.input_hint:
                outgoing.input_hint = InputHints.accepting_input.value
            outgoing.id = None
            output.append(outgoing)

        async def logic() -> list[ResourceResponse]:
            if self.activity.delivery_mode == DeliveryModes.expect_replies:
                responses = []
                for outgoing in output:
                    self.buffered_reply_activities.append(outgoing)
                    if outgoing.type == ActivityTypes.invoke_response:
                        self.turn_state[TurnContext._INVOKE_RESPONSE_KEY] = outgoing
                    responses.append(ResourceResponse())
            else:
                responses = await self.adapter.send_activities(self, output)
            if sent_non_trace:
                self.responded = True
            return responses

        sent: list[ResourceResponse] = await self._emit(self._on_send_activities, output, logic())
        return sent

    async def _emit(self, plugins: list[Handler], arg: Any, logic: Awaitable[Any]) -> Any:
        # botbuilder's runs the handlers through a closure that refers to itself: a cycle that
        # holds the context and what was sent (a card: hundreds of dicts) until the garbage
        # collector finds it. The same handlers, in the same order, each given the next.
        await _run_handlers(self, list(plugins), arg, 0)
        return await logic


Handler = Callable[[TurnContext, Any, Callable[[], Awaitable[None]]], Awaitable[Any]]


async def _run_handlers(context: TurnContext, handlers: list[Handler], arg: Any, i: int) -> None:
    if i < len(handlers):

        async def next_handler() -> None:
            await _run_handlers(context, handlers, arg, i + 1)

        await handlers[i](context, arg, next_handler)


class LeanCloudAdapter(CloudAdapter):  # type: ignore[misc]
    """CloudAdapter whose turn contexts are `LeanTurnContext`s."""

    def _create_turn_context(
        self,
        activity: Activity,
        claims_identity: Any,
        oauth_scope: str,
        connector_client: Any,
        user_token_client: Any,
        logic: Callable[[TurnContext], Awaitable[Any]],
        connector_factory: Any,
    ) -> TurnContext:
        context = LeanTurnContext(self, activity)
        context.turn_state[self.BOT_IDENTITY_KEY] = claims_identity
        context.turn_state[self.BOT_CONNECTOR_CLIENT_KEY] = connector_client
        context.turn_state[self.USER_TOKEN_CLIENT_KEY] = user_token_client
        context.turn_state[self.BOT_CALLBACK_HANDLER_KEY] = logic
        context.turn_state[self.CONNECTOR_FACTORY_KEY] = connector_factory
        context.turn_state[self.BOT_OAUTH_SCOPE_KEY] = oauth_scope
        return context
