// A form that comes back with errors moves the focus to its summary, so a screen reader
// reads the errors out and a keyboard user starts from them (templates/bootstrap5/errors.html).
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
});
