// Package intern shares one copy of each of the strings many cached sessions repeat but no
// list can name in advance (an identity schema's id and URL, a device's user agent), in a
// table that is bounded in count and in length, so that values a remote party chooses cannot
// make it a leak.
package intern
