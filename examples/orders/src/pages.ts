import type { Order } from './orders.js'

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text safe inside HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · orders</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`
}

/** `GET /`: the order form. The CSRF token is bound to the visitor's session cookie. */
export function orderForm(csrfToken: string): string {
  return page(
    'Place an order',
    `<form method="post" action="/orders">
<input type="hidden" name="csrf_token" value="${escapeHtml(csrfToken)}">
<p><label>Item <input name="item" required maxlength="100"></label></p>
<p><label>Quantity <input name="qty" type="number" required min="1" max="100" value="1"></label></p>
<p><button type="submit">Order</button></p>
</form>
<p>The same as JSON: <code>POST /orders</code> with <code>{"item": "tea", "qty": 2}</code>;
an order: <a href="/orders/1"><code>GET /orders/1</code></a>.</p>`,
  )
}

/** The answer to the form's post. */
export function orderCreated(order: Order): string {
  return page(
    `Order ${order.id} placed`,
    `<p>${order.qty} × ${escapeHtml(order.item)}: <a href="/orders/${order.id}">order ${order.id}</a>.</p>
<p><a href="/">Place another order</a></p>`,
  )
}
