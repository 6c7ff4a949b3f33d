// The example page's script: the order form -> a Payment Link URL (stripe-bridge/payments,
// browser entry: builders and paymentLinkUrl only, nothing that takes a secret key).
import { init, paymentLinkUrl, StripePaymentRequestError } from '../../dist/payments-browser.mjs';

// Where each of paymentLinkUrl's fields is on the form, and what the customer calls it.
const FIELDS = {
  url: ['link', 'Payment Link'],
  clientReferenceId: ['order-id', 'Order number'],
  prefilledEmail: ['email', 'Email'],
  locale: ['locale', 'Language'],
  prefilledPromoCode: ['promo', 'Promotion code'],
};

const form = document.getElementById('order');
const error = document.getElementById('error');
const result = document.getElementById('result');
const pay = document.getElementById('pay');

function clear() {
  error.hidden = true;
  result.hidden = true;
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

function fail(text, inputId) {
  error.textContent = text;
  error.hidden = false;
  if (inputId) {
    const input = document.getElementById(inputId);
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

function showError(err) {
  if (err instanceof StripePaymentRequestError && FIELDS[err.field]) {
    const [id, label] = FIELDS[err.field];
    // The core's message is "<field>: <reason>"; say it with the form's label.
    fail(`${label} ${err.message.slice(err.message.indexOf(': ') + 2)}.`, id);
  } else {
    fail(`Could not create the link: ${err.message}`);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  clear();
  const value = (id) => document.getElementById(id).value.trim();
  if (!value('order-id')) {
    fail('Order number is required.', 'order-id');
    return;
  }
  try {
    const url = paymentLinkUrl(value('link'), {
      clientReferenceId: value('order-id'),
      prefilledEmail: value('email'),
      locale: value('locale'),
      prefilledPromoCode: value('promo'),
    });
    pay.href = url;
    pay.textContent = `Pay order ${value('order-id')}`;
    document.getElementById('pay-url').textContent = url;
    result.hidden = false;
  } catch (err) {
    showError(err);
  }
});

await init();
form.querySelector('button').disabled = false;
document.body.dataset.ready = 'true';
