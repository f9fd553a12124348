// The catalog page: the beacon times this fetch (same origin) and reports it with the page's FCP/TTI.
fetch("/api/books")
  .then(function (r) { return r.json(); })
  .then(function (books) {
    var list = document.getElementById("books");
    books.slice(0, 50).forEach(function (b) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/books/" + b.id;
      link.textContent = b.title + " — " + b.author;
      item.appendChild(link);
      list.appendChild(item);
    });
  });
