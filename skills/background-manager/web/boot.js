// The page's first script, served without the token (it holds no data): it takes the token
// from the URL's fragment (never sent to a server, so never in a log), drops it from the
// address bar, checks it once (in a header, as every request of the page sends it; never a
// cookie, which every port of 127.0.0.1 would get), then loads the page itself.
(async () => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('bg-token', fromHash);
    history.replaceState(null, '', location.pathname);
  }
  const token = sessionStorage.getItem('bg-token') || '';
  const r = await fetch('/api/session', { method: 'POST', headers: { 'X-BG-Token': token } });
  const show = (text) => {
    document.getElementById('notice').textContent = text;
    document.getElementById('conn').textContent = 'not connected';
  };
  if (!r.ok) {
    if (document.readyState === 'loading') await new Promise((ok) => addEventListener('DOMContentLoaded', ok));
    return show(
      'This page needs the token of the running dashboard: open the Dashboard URL its command printed (a token from an earlier run no longer works).',
    );
  }
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = '/app.css';
  document.head.append(css);
  const js = document.createElement('script');
  js.src = '/app.js';
  document.head.append(js);
})();
