// The reader page: loads the book, then saves the reader's scene every few seconds.
var bookId = document.currentScript.dataset.book;
fetch("/api/books/" + bookId)
  .then(function (r) { return r.json(); })
  .then(function (book) {
    document.getElementById("title").textContent = book.title;
    document.getElementById("scenes").textContent = book.scenes + " scenes, " + book.words + " words";
    var scene = 0;
    setInterval(function () {
      scene = Math.min(scene + 1, book.scenes - 1);
      fetch("/api/books/" + bookId + "/progress", {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({scene: scene})
      });
    }, 5000);
  });
