// The console's progressive enhancement: every form works without this file.
(function () {
  "use strict";
})();
