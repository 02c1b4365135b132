// admin.js — the console's only script: the enrolment letter's print button.
// Everything else in the console works without JavaScript.
document.querySelectorAll('[data-print]').forEach((b) => {
  b.addEventListener('click', () => window.print());
});
