// Times are shown on the browser's clock and zone, with the UTC instant on hover (the API speaks UTC).

const local = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  timeZoneName: 'short',
});

/** A `<time>` for the ISO 8601 instant `iso`, or a dash when there is none. */
export function timeElement(iso) {
  const element = document.createElement('time');
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) {
    element.textContent = iso || '—';
    return element;
  }
  element.dateTime = date.toISOString();
  element.title = `${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
  element.textContent = local.format(date);
  return element;
}

/** The browser's time zone, as the page shows times in it. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}
