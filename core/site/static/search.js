/* Search of the catalogue without a server: substring matching on the prebuilt index
   (window.JIYAO_SEARCH, from search-index.js). Chinese has no spaces between words, so
   every query term — split on spaces only — must occur as a substring of an item's
   title, 文号, 栏目, date or 索引号; full-width characters count as their ASCII forms. */
(function () {
  "use strict";
  var data = window.JIYAO_SEARCH || { items: [] };
  var form = document.getElementById("search");
  var box = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!form || !box || !list) { return; }
  var root = document.querySelector('link[rel="stylesheet"]').getAttribute("href").replace(/static\/site\.css$/, "");
  var LIMIT = 200;

  function fold(s) {
    return String(s).replace(/[\uff01-\uff5e]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    }).replace(/\u3000/g, " ").replace(/[〔［【]/g, "[").replace(/[〕］】]/g, "]").toLowerCase();
  }
  var hay = data.items.map(function (it) { return fold(it.slice(0, 4).concat([it[5]]).join("\n")); });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function run(q) {
    var terms = fold(q).split(/\s+/).filter(Boolean);
    list.textContent = "";
    if (!terms.length) { status.textContent = "请输入关键词。"; return; }
    var hits = [];
    for (var i = 0; i < hay.length; i++) {
      var ok = true;
      for (var j = 0; j < terms.length && ok; j++) { ok = hay[i].indexOf(terms[j]) !== -1; }
      if (ok) { hits.push(data.items[i]); }
    }
    status.textContent = hits.length ? "找到 " + hits.length + " 条" + (hits.length > LIMIT ? "，显示前 " + LIMIT + " 条" : "") + "。" : "没有找到与“" + q + "”相关的政府信息。";
    hits.slice(0, LIMIT).forEach(function (it) {
      var li = el("li");
      var a = el("a", "", it[0]);
      a.href = root + it[4];
      li.appendChild(a);
      li.appendChild(el("div", "sub", [it[1], it[2], it[3], "索引号 " + it[5]].join("　")));
      list.appendChild(li);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = box.value;
    history.replaceState(null, "", "?q=" + encodeURIComponent(q));
    run(q);
  });
  var q0 = new URLSearchParams(location.search).get("q");
  if (q0) { box.value = q0; run(q0); }
})();
