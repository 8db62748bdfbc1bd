/** The ChatKit requests the native view sends to /chatkit: the same bodies the widget sends. */

function userInput(text) {
  return { content: [{ type: 'input_text', text }], attachments: [], inference_options: {} };
}

export function sendMessage(threadId, text) {
  return threadId
    ? { type: 'threads.add_user_message', params: { thread_id: threadId, input: userInput(text) } }
    : { type: 'threads.create', params: { input: userInput(text) } };
}

/** An approval card's button, as the widget's custom action (chat/server.py resumes the held run). */
export function cardAction(threadId, itemId, action, callId) {
  const params = { thread_id: threadId, item_id: itemId, action: { type: action, payload: { call_id: callId } } };
  return { type: 'threads.custom_action', params };
}

/** Answers the admin's message `itemId` again (ChatKit removes what came after it first). */
export function retryAfter(threadId, itemId) {
  return { type: 'threads.retry_after_item', params: { thread_id: threadId, item_id: itemId } };
}
